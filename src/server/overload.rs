//! Overload protection of the scoring routes (those [`is_guarded`] names:
//! `/v1/score`, `/v1/score/batch`, Perspective `comments:analyze` and
//! `comments:suggestscore`, KServe `infer`), applied by the [`limit_scoring`]
//! middleware; health, readiness, metrics, model metadata and the OpenAPI
//! document are never limited.
//!
//! - **In-flight limit** (`max_in_flight`): a request takes a slot
//!   ([`Permit`]) when its head arrives, before its body is read, so neither
//!   the CPU work nor the buffered bodies can grow without bound. With every
//!   slot taken the request is answered at once, 503 with `Retry-After`, and
//!   its body is never read (actix then closes the connection).
//! - **Request deadline** (`request_deadline_ms`): the middleware stops
//!   waiting for the handler when the deadline passes. A body still arriving
//!   is the client's fault: 408. A body fully received means scoring is still
//!   running: 504 (the server's answer came too late; retrying the same
//!   document under the same load would time out again, so no `Retry-After`).
//!
//! The deadline cannot interrupt CPU work. Small work of a request alone in
//! flight is scored inline on the worker
//! ([`inline`](super::routes::score::inline), a few ms at most), so the
//! deadline is checked only after it finishes; other work runs on Tokio's
//! blocking pool, and the handler then
//! holds a clone of the request's [`Permit`] inside the blocking closure. When
//! the deadline passes the client gets its answer, the closure runs to the end
//! in the background, and its slot is freed only then: slots count CPU work
//! still running, so abandoned work can never pile up beyond the limit.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::Stream;

use super::error::ApiError;
use super::keys::{is_guarded, Guarded};
use super::kserve::KServeError;
use super::perspective::PerspectiveError;
use super::settings::Settings;
use super::state::AppState;

/// `Retry-After` of a 503 `overloaded`, in seconds: scoring takes
/// milliseconds, so slots free up well within a second.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The count of admitted scoring requests and its limit.
#[derive(Debug)]
pub struct InFlight {
    count: AtomicUsize,
    limit: usize,
}

impl InFlight {
    /// No request in flight, at most `limit` at once.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            count: AtomicUsize::new(0),
            limit,
        })
    }

    /// A slot, or `None` when all `limit` are taken.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Permit {
                _slot: Arc::new(Slot(Arc::clone(self))),
            })
    }

    /// Slots taken now.
    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// The limit (`max_in_flight`).
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// One slot of [`InFlight`], freed when the last clone is dropped: the
/// middleware's (when the answer is sent), the request's extensions (when
/// the request is dropped) and any handed to blocking work (when it ends).
#[derive(Debug, Clone)]
pub struct Permit {
    _slot: Arc<Slot>,
}

#[derive(Debug)]
struct Slot(Arc<InFlight>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The slot of this request, for a handler to move into blocking work
/// (`None` outside [`limit_scoring`], e.g. in unit tests of a handler).
pub fn permit(req: &HttpRequest) -> Option<Permit> {
    req.extensions().get::<Permit>().cloned()
}

/// Why a scoring request was answered without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// Every slot was taken: 503, `Retry-After`.
    Overloaded,
    /// The body had not fully arrived at the deadline: 408.
    RequestTimeout,
    /// The body had arrived, scoring had not finished at the deadline: 504.
    DeadlineExceeded,
}

impl Shed {
    /// The `reason` label of `stance_requests_shed_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Shed::Overloaded => "overloaded",
            Shed::RequestTimeout => "request_timeout",
            Shed::DeadlineExceeded => "deadline_exceeded",
        }
    }
}

/// The 503 answer to a request finding every slot taken, in the envelope
/// of the API it was sent to.
pub fn overloaded_response(kind: Guarded, settings: &Settings) -> HttpResponse {
    let limit = settings.max_in_flight;
    let retry_after_secs = RETRY_AFTER_SECS;
    match kind {
        Guarded::Native => ApiError::Overloaded {
            limit,
            retry_after_secs,
        }
        .error_response(),
        Guarded::Perspective => PerspectiveError::Unavailable { retry_after_secs }.error_response(),
        Guarded::KServe => KServeError::Unavailable {
            limit,
            retry_after_secs,
        }
        .error_response(),
    }
}

/// The request body, marking `received` once it has been read to its end.
struct Watched {
    inner: Payload,
    received: Arc<AtomicBool>,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(None) = next {
            self.received.store(true, Ordering::Release);
        }
        next
    }
}

/// The middleware (`actix_web::middleware::from_fn(limit_scoring)`), inside
/// the API key check so refused keys never take a slot.
pub async fn limit_scoring<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let kind = is_guarded(req.match_info().as_str());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(kind), Some(state)) = (kind, state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let settings = state.settings();
    let Some(permit) = state.in_flight().try_acquire() else {
        state.metrics().observe_shed(Shed::Overloaded);
        let res = overloaded_response(kind, settings);
        return Ok(req.into_response(res).map_into_right_body());
    };
    req.extensions_mut().insert(permit.clone());
    let received = Arc::new(AtomicBool::new(false));
    let watched = Watched {
        inner: req.take_payload(),
        received: Arc::clone(&received),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(watched),
    });
    let outcome = tokio::time::timeout(settings.request_deadline(), next.call(req)).await;
    drop(permit);
    match outcome {
        Ok(res) => res.map(ServiceResponse::map_into_left_body),
        Err(_) => {
            let shed = if received.load(Ordering::Acquire) {
                Shed::DeadlineExceeded
            } else {
                Shed::RequestTimeout
            };
            state.metrics().observe_shed(shed);
            tracing::warn!(
                reason = shed.as_str(),
                deadline_ms = settings.request_deadline_ms,
                "request deadline passed"
            );
            // The request went into the handler's future, dropped here, and
            // an `HttpRequest` cannot be cloned before routing (actix needs it
            // unshared to match the path): the answer goes back as an error,
            // which actix renders with the error type's own response.
            Err(shed_error(kind, shed, settings))
        }
    }
}

/// The 408 or 504 of a passed deadline, in the envelope of the API.
fn shed_error(kind: Guarded, shed: Shed, settings: &Settings) -> actix_web::Error {
    let deadline_ms = settings.request_deadline_ms;
    match (kind, shed) {
        (Guarded::Native, Shed::RequestTimeout) => ApiError::RequestTimeout { deadline_ms }.into(),
        (Guarded::Perspective, Shed::RequestTimeout) => {
            PerspectiveError::RequestTimeout { deadline_ms }.into()
        }
        (Guarded::KServe, Shed::RequestTimeout) => {
            KServeError::RequestTimeout { deadline_ms }.into()
        }
        (Guarded::Native, _) => ApiError::DeadlineExceeded { deadline_ms }.into(),
        (Guarded::Perspective, _) => PerspectiveError::DeadlineExceeded { deadline_ms }.into(),
        (Guarded::KServe, _) => KServeError::DeadlineExceeded { deadline_ms }.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{test as atest, App};
    use std::time::Duration;

    #[test]
    fn slots_are_bounded_and_freed_with_the_last_clone() {
        let limit = InFlight::new(2);
        let a = limit.try_acquire().unwrap();
        let a2 = a.clone();
        let b = limit.try_acquire().unwrap();
        assert!(limit.try_acquire().is_none(), "both slots taken");
        drop(a);
        assert_eq!(limit.current(), 2, "a clone still holds the slot");
        drop(a2);
        assert_eq!(limit.current(), 1);
        let c = limit.try_acquire().expect("a freed slot is reused");
        drop((b, c));
        assert_eq!(limit.current(), 0);
    }

    fn state(settings: Settings) -> web::Data<AppState> {
        let model = crate::artifact::load_embedded().unwrap();
        web::Data::new(AppState::new(settings, model))
    }

    /// A `/v1/score` stand-in: reads the body, then waits `ms`, holding its
    /// permit in a detached task as blocking work does.
    async fn slow(req: HttpRequest, body: web::Bytes, ms: web::Data<u64>) -> HttpResponse {
        let p = permit(&req);
        let ms = **ms;
        let work = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            drop(p);
        });
        let _ = work.await;
        HttpResponse::Ok().body(body)
    }

    /// The response actix renders for `err`, checked for `status`, as JSON.
    fn error_json(err: &actix_web::Error, status: u16) -> serde_json::Value {
        use actix_web::body::MessageBody;
        let res = err.error_response();
        assert_eq!(res.status().as_u16(), status, "{err}");
        let bytes = res.into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[actix_web::test]
    async fn full_slots_are_503_with_retry_after_and_the_deadline_is_504_or_408() {
        let settings = Settings {
            max_in_flight: 1,
            request_deadline_ms: 100,
            ..Settings::default()
        };
        let state = state(settings);
        let app = atest::init_service(
            App::new()
                .app_data(state.clone())
                .app_data(web::Data::new(300u64))
                .wrap(from_fn(limit_scoring))
                .route("/v1/score", web::post().to(slow))
                .route("/healthz", web::get().to(HttpResponse::Ok)),
        )
        .await;
        // Slow scoring: the body is in, the handler outlives the deadline.
        let req = atest::TestRequest::post()
            .uri("/v1/score")
            .set_payload("x")
            .to_request();
        let err = atest::try_call_service(&app, req).await.unwrap_err();
        assert_eq!(error_json(&err, 504)["error"]["code"], "deadline_exceeded");
        // The abandoned work still holds its slot: the next request is 503.
        assert_eq!(state.in_flight().current(), 1, "abandoned work counted");
        let res = atest::call_service(
            &app,
            atest::TestRequest::post().uri("/v1/score").to_request(),
        )
        .await;
        assert_eq!(res.status().as_u16(), 503);
        assert_eq!(res.headers().get("retry-after").unwrap(), "1");
        let v: serde_json::Value = atest::read_body_json(res).await;
        assert_eq!(v["error"]["code"], "overloaded");
        let res =
            atest::call_service(&app, atest::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(res.status().as_u16(), 200, "health is never limited");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(state.in_flight().current(), 0, "freed when the work ends");
        // A body that never ends: the client is too slow, 408.
        let never: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(futures_util::stream::pending());
        let (trickle, _) = atest::TestRequest::post()
            .uri("/v1/score")
            .to_request()
            .replace_payload(Payload::Stream { payload: never });
        let err = atest::try_call_service(&app, trickle).await.unwrap_err();
        assert_eq!(error_json(&err, 408)["error"]["code"], "request_timeout");
        assert_eq!(state.in_flight().current(), 0, "the slot is freed");
        let m = state.metrics().render(
            &state.model(),
            state.in_flight().current(),
            state.in_flight().limit(),
        );
        assert!(
            m.contains("stance_requests_shed_total{reason=\"overloaded\"} 1"),
            "{m}"
        );
        assert!(
            m.contains("stance_requests_shed_total{reason=\"deadline_exceeded\"} 1"),
            "{m}"
        );
    }
}
