//! Stance labels and the probability triple the model returns.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stance toward sanctuary policy and local cooperation with federal
/// immigration enforcement. The order (alphabetical) is the model's class order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Anti-sanctuary, pro-enforcement.
    Anti,
    /// Factual, balanced or off-topic.
    Neutral,
    /// Pro-sanctuary, against enforcement programmes.
    Pro,
}

/// A label name that is not `pro`, `anti` or `neutral`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown label {0:?} (expected pro, anti or neutral)")]
pub struct UnknownLabel(pub String);

impl Label {
    /// All labels in class order.
    pub const ALL: [Label; 3] = [Label::Anti, Label::Neutral, Label::Pro];

    /// The class index of this label.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The label of a class index.
    pub fn from_index(i: usize) -> Option<Label> {
        Self::ALL.get(i).copied()
    }

    /// The label's name as written in data files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Anti => "anti",
            Label::Neutral => "neutral",
            Label::Pro => "pro",
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Label {
    type Err = UnknownLabel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "anti" => Ok(Label::Anti),
            "neutral" => Ok(Label::Neutral),
            "pro" => Ok(Label::Pro),
            other => Err(UnknownLabel(other.to_string())),
        }
    }
}

/// Probabilities of the three labels; they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probabilities {
    /// P(pro).
    pub pro: f64,
    /// P(anti).
    pub anti: f64,
    /// P(neutral).
    pub neutral: f64,
}

impl Probabilities {
    /// From class-ordered values (`[anti, neutral, pro]`).
    pub fn from_class_order(p: [f64; 3]) -> Self {
        Self {
            anti: p[0],
            neutral: p[1],
            pro: p[2],
        }
    }

    /// Class-ordered values (`[anti, neutral, pro]`).
    pub fn to_class_order(self) -> [f64; 3] {
        [self.anti, self.neutral, self.pro]
    }

    /// Probability of one label.
    pub fn get(&self, label: Label) -> f64 {
        self.to_class_order()[label.index()]
    }

    /// The most probable label (ties go to the earlier class).
    pub fn label(&self) -> Label {
        let p = self.to_class_order();
        let mut best = 0;
        for i in 1..3 {
            if p[i] > p[best] {
                best = i;
            }
        }
        Label::ALL[best]
    }

    /// The label ranked second.
    pub fn runner_up(&self) -> Label {
        let top = self.label();
        let mut best: Option<Label> = None;
        for l in Label::ALL {
            if l != top && best.is_none_or(|b| self.get(l) > self.get(b)) {
                best = Some(l);
            }
        }
        best.unwrap_or(top)
    }

    /// Difference between the top two probabilities.
    pub fn margin(&self) -> f64 {
        self.get(self.label()) - self.get(self.runner_up())
    }

    /// P(pro) - P(anti), in [-1, 1]: negative leans anti, positive leans pro.
    pub fn stance_index(&self) -> f64 {
        self.pro - self.anti
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_names_and_indices() {
        for l in Label::ALL {
            assert_eq!(l.as_str().parse::<Label>(), Ok(l));
            assert_eq!(Label::from_index(l.index()), Some(l));
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
        }
        assert_eq!("PRO".parse::<Label>(), Err(UnknownLabel("PRO".into())));
        assert_eq!(Label::from_index(3), None);
    }

    #[test]
    fn argmax_runner_up_margin_and_index() {
        let p = Probabilities {
            pro: 0.5,
            anti: 0.2,
            neutral: 0.3,
        };
        assert_eq!(p.label(), Label::Pro);
        assert_eq!(p.runner_up(), Label::Neutral);
        assert!((p.margin() - 0.2).abs() < 1e-12);
        assert!((p.stance_index() - 0.3).abs() < 1e-12);
        let tie = Probabilities {
            pro: 0.4,
            anti: 0.4,
            neutral: 0.2,
        };
        assert_eq!(tie.label(), Label::Anti);
        assert_eq!(tie.runner_up(), Label::Pro);
    }
}
