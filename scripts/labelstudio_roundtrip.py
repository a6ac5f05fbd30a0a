#!/usr/bin/env python3
"""Label Studio round trip for `stance sample` and `stance labels import`.

Run by scripts/labelstudio_roundtrip.sh against a throwaway Label Studio
(pinned in scripts/requirements-labelstudio.txt); talks to it over its
documented HTTP API with `requests` only (no label-studio-sdk):

 1. writes a small news archive (15 documents, written for this test) and
    runs `stance sample -n 8 --format labelstudio`;
 2. signs in, creates a personal access token (POST /api/token/) and trades
    it for an access token (POST /api/token/refresh/), as Label Studio 1.23
    refuses legacy tokens in new organisations;
 3. creates a project with the written tasks.label_config.xml, imports
    tasks.json, lists the tasks, adds a second annotator (POST /api/users/)
    and submits annotations: one label per task cycling pro/anti/neutral,
    two agreeing annotations on one task, two disagreeing ones on another, a
    skipped (cancelled) one beside a real one on a third, and nothing on the
    last;
 4. exports JSON (all tasks) and JSON_MIN, runs `stance labels import` on
    each and checks the summary line, every labeled record (label, text,
    annotators, ids, model checksum) against what was submitted, the
    disagreements file and the unlabeled task.

Exit 0 when every check passed, 1 with a `FAIL ...` line per mismatch.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import requests

LABELS = ["pro", "anti", "neutral"]
N_TASKS = 8
SECOND_EMAIL = "second.annotator@example.com"

# Fifteen short news-like documents about local police cooperation with
# federal immigration agents, written for this test (fictional places and
# people). Paragraphs are separated by blank lines, as `stance sample`
# splits them; a few carry non-ASCII text so the round trip checks it too.
DOCS = [
    ("rt-01", [
        "The Harlow County Board of Supervisors voted 4-1 on Tuesday to bar sheriff's deputies from holding people in jail solely on federal immigration detainers, joining a growing list of counties that limit cooperation with Immigration and Customs Enforcement.",
        "Supervisor Elena Márquez, who wrote the ordinance, said residents who fear deportation had stopped reporting burglaries and assaults. “People have to be able to call 911 without wondering whether a family member will be taken away,” she said.",
        "Sheriff Dale Pruitt said his office would follow the new rule but warned that it could let dangerous offenders walk free before federal agents arrive.",
    ]),
    ("rt-02", [
        "Federal officials criticized the city of Brookhaven on Monday after its police department declined to notify immigration agents before releasing a man later accused of a second drunk-driving crash.",
        "“This tragedy was preventable,” said a regional ICE spokesperson, who urged the city council to repeal its sanctuary ordinance and honor detainer requests from federal agents.",
        "City officials said the department had no legal authority to keep the man in custody once a judge ordered his release.",
    ]),
    ("rt-03", [
        "The state attorney general released guidance on Thursday explaining what local police may and may not do when federal immigration agents ask for help with an investigation.",
        "The 40-page document lists the kinds of information officers may share, such as release dates already posted in public records, and notes that courts have reached different conclusions about detainers issued without a judicial warrant.",
    ]),
    ("rt-04", [
        "Parents at Lincoln Elementary packed the school board meeting to ask for a written promise that police officers stationed on campus will not question students about their immigration status.",
        "A board member said the district already forbids such questioning and would post the policy in Spanish, Vietnamese and Tagalog. The police chief said his officers “are there to keep kids safe, not to enforce immigration law.”",
        "Several speakers said the policy had helped families feel secure enough to keep their children in school.",
    ]),
    ("rt-05", [
        "Sheriff Tom Greeley signed an agreement with federal authorities that lets trained deputies check the immigration status of people booked into the county jail.",
        "Greeley said the program would help remove violent criminals from the community and called sanctuary policies “a danger to every law-abiding family in this county.”",
        "Opponents plan to challenge the agreement at next month's commission meeting, saying it will cost the county money it does not have.",
    ]),
    ("rt-06", [
        "A study by researchers at Westfield University compared crime reports in counties that limit cooperation with immigration agents and in counties that do not, over ten years.",
        "The authors found no significant difference in violent crime rates between the two groups once population and income were taken into account, and said more data were needed on property crime.",
    ]),
    ("rt-07", [
        "The city council in Port Adair will take up a proposal next week that would stop the police department from sharing jail release dates with federal immigration agents.",
        "The measure's sponsor, council member Rui Tavares, said the change would bring the city in line with neighboring towns. The police union has not taken a public position.",
        "A public hearing is scheduled for 6 p.m. on Wednesday at City Hall.",
    ]),
    ("rt-08", [
        "Business owners along Fremont Avenue said sales dropped sharply after rumors spread that local police were helping federal agents conduct immigration raids.",
        "“Half my customers stopped coming,” said bakery owner José Ibarra. The police chief later said his department had not taken part in any federal operation and urged residents to keep reporting crimes.",
        "Community groups praised the chief's statement and asked the city to put its non-cooperation policy into a formal ordinance.",
    ]),
    ("rt-09", [
        "State lawmakers advanced a bill that would require every county jail to honor federal immigration detainers and would withhold state grants from cities that refuse.",
        "The bill's author said sanctuary jurisdictions had “put politics ahead of public safety” and that residents deserve to know that people in the country illegally who commit crimes will be handed over to federal authorities.",
    ]),
    ("rt-10", [
        "Victims' advocates told a legislative committee that immigrant women in abusive relationships are less likely to seek protective orders when they believe local police will share their information with federal immigration agents.",
        "A shelter director said calls to her hotline rose after the county adopted rules limiting such cooperation. She asked lawmakers to extend the rules to courthouses.",
        "Committee members from both parties asked for data on how often detainers are issued for people who are witnesses or victims rather than suspects.",
    ]),
    ("rt-11", [
        "A federal judge ruled that Marlow County violated the Fourth Amendment when it held a man for two days on an immigration detainer after he had posted bail.",
        "The ruling does not bar the county from cooperating with federal agents in other ways, and the county said it was reviewing its options, including an appeal.",
    ]),
    ("rt-12", [
        "A sheriff's deputy in Calvert Parish testified that the department receives about a dozen detainer requests each month and that processing them takes little staff time.",
        "He told the panel that the jail notifies federal agents when a person named in a request is about to be released and that agents usually arrive within a few hours.",
    ]),
    ("rt-13", [
        "The mayor of Eastbridge announced that the city would end its participation in a federal task force after learning that officers assigned to it had helped arrest people on civil immigration warrants.",
        "“Our officers work for the people of Eastbridge, all of them,” the mayor said. “Trust between police and the neighborhoods they serve is what keeps this city safe.”",
    ]),
    ("rt-14", [
        "Families of two people killed in a crash caused by a driver who had been released from a county jail despite an immigration detainer called on the county to change its policy.",
        "“If the jail had made one phone call, my daughter would still be alive,” said one father, who has joined a campaign to require local police to cooperate fully with immigration agents.",
        "County officials expressed sympathy but said they were bound by a court ruling on detainers.",
    ]),
    ("rt-15", [
        "The police commission in Sandoval held its quarterly meeting on Thursday and reviewed budget requests for new patrol vehicles and body cameras.",
        "Commissioners also heard a brief report on how many federal immigration requests the department received last year, which the chief said was about the same as the year before.",
    ]),
]


class Failures:
    def __init__(self):
        self.items = []

    def check(self, ok, msg):
        if ok:
            print(f"ok   {msg}")
        else:
            print(f"FAIL {msg}")
            self.items.append(msg)
        return ok


def die(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


class LabelStudio:
    """Label Studio's HTTP API with a personal access token (JWT) flow."""

    def __init__(self, url, email, password):
        self.url = url.rstrip("/")
        self.email = email
        self.password = password
        self.refresh_token = None
        self.access = None
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only: no proxies

    def login_and_create_token(self):
        """Sign in as a person would, create a personal access token (the
        refresh token the Account & Settings page shows), and keep it."""
        s = requests.Session()
        s.trust_env = False
        r = s.get(f"{self.url}/user/login/", timeout=30)
        if r.status_code != 200 or "csrftoken" not in s.cookies:
            die(f"GET /user/login/ -> {r.status_code}, no csrftoken cookie")
        r = s.post(
            f"{self.url}/user/login/",
            data={
                "email": self.email,
                "password": self.password,
                "csrfmiddlewaretoken": s.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.url}/user/login/"},
            allow_redirects=False,
            timeout=30,
        )
        if r.status_code != 302 or "sessionid" not in s.cookies:
            die(f"sign-in as {self.email} failed: POST /user/login/ -> {r.status_code}")
        r = s.post(
            f"{self.url}/api/token/",
            headers={"X-CSRFToken": s.cookies["csrftoken"], "Referer": f"{self.url}/"},
            timeout=30,
        )
        if r.status_code != 201 or "token" not in r.json():
            die(f"POST /api/token/ (create personal access token) -> {r.status_code}: {r.text[:300]}")
        self.refresh_token = r.json()["token"]
        self.refresh()

    def refresh(self):
        r = self.http.post(
            f"{self.url}/api/token/refresh/", json={"refresh": self.refresh_token}, timeout=30
        )
        if r.status_code != 200 or "access" not in r.json():
            die(f"POST /api/token/refresh/ -> {r.status_code}: {r.text[:300]}")
        self.access = r.json()["access"]

    def call(self, method, path, expect=(200,), **kw):
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.access}"}
            r = self.http.request(method, f"{self.url}{path}", headers=headers, timeout=120, **kw)
            if r.status_code == 401 and attempt == 1:
                self.refresh()  # access tokens live for minutes
                continue
            break
        if r.status_code not in expect:
            die(f"{method} {path} -> {r.status_code} (expected {expect}): {r.text[:500]}")
        return r.json() if r.content else None


def write_archive(path):
    with open(path, "w", encoding="utf-8") as f:
        for doc_id, paragraphs in DOCS:
            f.write(json.dumps({"id": doc_id, "text": "\n\n".join(paragraphs)}, ensure_ascii=False) + "\n")


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def parse_summary(stderr):
    m = re.search(r"^summary: (.*)$", stderr, re.M)
    if not m:
        return None
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--email", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--stance", required=True, help="the stance binary")
    ap.add_argument("--workdir", help="where to write files (default: a temporary directory)")
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="ls-roundtrip-")
    os.makedirs(work, exist_ok=True)
    F = Failures()

    # --- 1. sample ------------------------------------------------------------
    archive = os.path.join(work, "archive.jsonl")
    write_archive(archive)
    tasks_path = os.path.join(work, "tasks.json")
    config_path = os.path.join(work, "tasks.label_config.xml")
    p = run([args.stance, "sample", "--input", archive, "-n", str(N_TASKS),
             "--format", "labelstudio", "--output", tasks_path])
    if p.returncode != 0:
        die(f"stance sample exited {p.returncode}:\n{p.stderr}")
    with open(tasks_path, encoding="utf-8") as f:
        sampled = json.load(f)
    with open(config_path, encoding="utf-8") as f:
        label_config = f.read()
    F.check(len(sampled) == N_TASKS, f"stance sample wrote {len(sampled)} tasks (asked for {N_TASKS})")
    by_tid = {t["data"]["task_id"]: t for t in sampled}
    F.check(len(by_tid) == len(sampled), "sampled task_ids are unique")

    # --- 2. auth --------------------------------------------------------------
    ls = LabelStudio(args.url, args.email, args.password)
    ls.login_and_create_token()
    print("ok   signed in; personal access token created and exchanged for an access token")
    me = ls.call("GET", "/api/current-user/whoami")
    admin_id = me["id"]

    # --- 3. project, import, annotate ------------------------------------------
    project = ls.call("POST", "/api/projects/", expect=(201,),
                      json={"title": "stance round trip", "label_config": label_config})
    pid = project["id"]
    print(f"ok   project {pid} created with tasks.label_config.xml")
    imp = ls.call("POST", f"/api/projects/{pid}/import", expect=(201,), json=sampled)
    F.check(imp.get("task_count") == N_TASKS,
            f"import: task_count={imp.get('task_count')} prediction_count={imp.get('prediction_count')}")
    F.check(imp.get("prediction_count") == N_TASKS, "import: every task's pre-annotation was accepted")

    listed = ls.call("GET", f"/api/tasks/?project={pid}&page_size=1000&fields=all")
    ls_tasks = listed["tasks"] if isinstance(listed, dict) else listed
    F.check(len(ls_tasks) == N_TASKS, f"Label Studio lists {len(ls_tasks)} tasks")
    ls_id = {}
    for t in ls_tasks:
        tid = t["data"].get("task_id")
        ls_id[tid] = t["id"]
        src = by_tid.get(tid)
        F.check(src is not None and t["data"].get("text") == src["data"]["text"],
                f"task {tid}: Label Studio holds the sampled text unchanged")
    if set(ls_id) != set(by_tid):
        die("the tasks Label Studio lists are not the tasks imported")

    second = ls.call("POST", "/api/users/", expect=(201,),
                     json={"email": SECOND_EMAIL, "username": "second_annotator",
                           "first_name": "Second", "last_name": "Annotator"})
    second_id = second["id"]
    print(f"ok   second annotator created (user {second_id})")

    def annotate(tid, label, user=None, cancelled=False):
        body = {
            "result": [] if cancelled else [{
                "from_name": "stance", "to_name": "text", "type": "choices",
                "value": {"choices": [label]},
            }],
            "was_cancelled": cancelled,
            "lead_time": 3.5,
        }
        if user is not None:
            body["completed_by"] = user
        ann = ls.call("POST", f"/api/tasks/{ls_id[tid]}/annotations/", expect=(201,), json=body)
        want_user = admin_id if user is None else user
        got_user = ann.get("completed_by")
        if isinstance(got_user, dict):
            got_user = got_user.get("id")
        F.check(got_user == want_user, f"task {tid}: annotation stored for user {got_user} (wanted {want_user})")

    order = sorted(by_tid)  # deterministic
    disagree_tid, agree_tid, cancel_tid, unlabeled_tid = order[0], order[1], order[2], order[-1]
    expected = {}  # task_id -> (label, number of annotations, annotators)
    for i, tid in enumerate(order):
        label = LABELS[i % 3]
        if tid == unlabeled_tid:
            continue
        if tid == disagree_tid:
            annotate(tid, "pro")
            annotate(tid, "anti", user=second_id)
            continue
        annotate(tid, label)
        if tid == agree_tid:
            annotate(tid, label, user=second_id)
            expected[tid] = (label, 2, {args.email, SECOND_EMAIL})
        elif tid == cancel_tid:
            annotate(tid, None, user=second_id, cancelled=True)
            expected[tid] = (label, 1, {args.email})
        else:
            expected[tid] = (label, 1, {args.email})
    print(f"ok   annotations submitted: {len(expected)} tasks with a label, {disagree_tid} disagreed,"
          f" {cancel_tid} also skipped once, {unlabeled_tid} left alone")

    # --- 4. export and import ------------------------------------------------------
    exp = ls.call("GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
    F.check(isinstance(exp, list) and len(exp) == N_TASKS, f"JSON export holds {len(exp)} tasks")
    export_path = os.path.join(work, "export.json")
    with open(export_path, "w", encoding="utf-8") as f:
        json.dump(exp, f, ensure_ascii=False, indent=1)
    exp_min = ls.call("GET", f"/api/projects/{pid}/export?exportType=JSON_MIN&download_all_tasks=true")
    export_min_path = os.path.join(work, "export_min.json")
    with open(export_min_path, "w", encoding="utf-8") as f:
        json.dump(exp_min, f, ensure_ascii=False, indent=1)

    # Label Studio 1.23 exports `completed_by` (JSON) and `annotator`
    # (JSON_MIN, one row per annotation) as user ids: stance names them
    # "user ID". JSON_MIN leaves skipped annotations out.
    names = {args.email: f"user {admin_id}", SECOND_EMAIL: f"user {second_id}"}
    expected = {tid: (label, n, {names[w] for w in who}) for tid, (label, n, who) in expected.items()}
    for kind, path, cancelled in (("JSON", export_path, 1), ("JSON_MIN", export_min_path, 0)):
        stem = os.path.join(work, f"labeled_{kind.lower()}")
        p = run([args.stance, "labels", "import", "--from", "labelstudio", path, "--output", stem + ".jsonl"])
        print(p.stderr.rstrip())
        if not F.check(p.returncode == 0, f"{kind}: stance labels import exited {p.returncode}"):
            continue
        summary = parse_summary(p.stderr)
        want = {"tasks": N_TASKS, "labeled": len(expected), "unanimous": len(expected), "majority": 0,
                "unresolved": 1, "unlabeled": 1, "cancelled_annotations": cancelled}
        F.check(summary == want, f"{kind}: summary {summary} == {want}")
        F.check(re.search(r"no annotation.*" + re.escape(unlabeled_tid), p.stderr) is not None,
                f"{kind}: the unannotated task {unlabeled_tid} is reported as having no annotation")
        check_labeled(F, kind, read_jsonl(stem + ".jsonl"), expected, by_tid)
        dis = read_jsonl(stem + ".disagreements.jsonl")
        F.check([d.get("task_id") for d in dis] == [disagree_tid],
                f"{kind}: disagreements file holds exactly {disagree_tid}: {[d.get('task_id') for d in dis]}")
        if dis:
            got = sorted((a.get("label"), a.get("annotator")) for a in dis[0].get("annotations", []))
            want_d = sorted([("pro", names[args.email]), ("anti", names[SECOND_EMAIL])])
            F.check(got == want_d, f"{kind}: disagreement keeps both annotations {got}")
            F.check(dis[0].get("text") == by_tid[disagree_tid]["data"]["text"],
                    f"{kind}: disagreement text is the sampled text")

    if F.items:
        print(f"{len(F.items)} check(s) failed:")
        for m in F.items:
            print(f"  - {m}")
        return 1
    return 0


def check_labeled(F, kind, records, expected, by_tid):
    got = {r.get("task_id"): r for r in records}
    F.check(len(records) == len(expected) and set(got) == set(expected),
            f"{kind}: labeled.jsonl holds {len(records)} records for exactly the labeled tasks")
    for tid, (label, n, who) in sorted(expected.items()):
        r = got.get(tid)
        if r is None:
            F.check(False, f"{kind} {tid}: missing from labeled.jsonl")
            continue
        src = by_tid[tid]["data"]
        F.check(r.get("label") == label, f"{kind} {tid}: label {r.get('label')} (submitted {label})")
        F.check(r.get("text") == src["text"], f"{kind} {tid}: text equals the sampled task's text")
        F.check(r.get("n_annotations") == n, f"{kind} {tid}: n_annotations {r.get('n_annotations')} == {n}")
        F.check(r.get("doc_id") == src["doc_id"] and r.get("paragraph") == src["paragraph"],
                f"{kind} {tid}: doc_id/paragraph kept ({r.get('doc_id')}#{r.get('paragraph')})")
        F.check(r.get("sampled_by_model") == src["model_checksum"], f"{kind} {tid}: model checksum kept")
        F.check(set(r.get("annotators", [])) == who, f"{kind} {tid}: annotators {r.get('annotators')} == {sorted(who)}")


if __name__ == "__main__":
    sys.exit(main())
