//! What each request should get, and the verdict on what it got.
//!
//! An [`Expected`] outcome is either a `200` whose JSON equals a reference answer, or an
//! error status with an exact body. Reference answers are made once per entry of the mix,
//! for a reference body whose `spec.who` no request carries; a request's answer is compared
//! after its own `spec.who` is replaced by the reference one. hello-world echoes `spec.who`
//! in its greeting, so an answer that belongs to another request (a mix-up under load)
//! keeps that request's `spec.who` and does not match.
//!
//! Around a change of a hook (a new module or options), a request accepts the outcome of
//! either version; [`judge`] takes every outcome accepted at the time the request was sent.

use std::fmt;

use serde_json::Value;

/// One outcome a request may get.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// `200` with a JSON body equal to this (after `spec.who` is replaced, see the module
    /// docs); key order and spacing do not matter.
    Answer(Value),
    /// An error answer, byte for byte.
    Error {
        /// The kind of error, as the report counts it: `fails`, `times out`.
        label: &'static str,
        status: u16,
        body: String,
    },
}

/// What a request got, judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The expected `200` answer.
    Answer,
    /// An expected error, by its label.
    ExpectedError(&'static str),
    /// Anything else.
    Unexpected(Unexpected),
}

/// An unexpected outcome: its kind, and the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Unexpected {
    pub kind: UnexpectedKind,
    pub detail: String,
}

/// Kinds of unexpected outcomes, as the report counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnexpectedKind {
    /// A `200` whose answer is not one of those accepted.
    WrongAnswer,
    /// A status (or an error text) that was not expected.
    Status(u16),
    /// No connection could be opened.
    Connect,
    /// The connection broke before the whole answer was in.
    Connection,
    /// No whole answer within the request timeout.
    Timeout,
    /// The server did not show a changed hook's new version in time.
    ChangeNotSeen,
    /// The server process ended during the run.
    ServerExited,
}

impl fmt::Display for UnexpectedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnexpectedKind::WrongAnswer => f.write_str("200 with a wrong answer"),
            UnexpectedKind::Status(code) => write!(f, "HTTP {code} not expected"),
            UnexpectedKind::Connect => f.write_str("cannot connect"),
            UnexpectedKind::Connection => f.write_str("connection broken"),
            UnexpectedKind::Timeout => f.write_str("no answer in time"),
            UnexpectedKind::ChangeNotSeen => f.write_str("hook change not seen"),
            UnexpectedKind::ServerExited => f.write_str("server exited"),
        }
    }
}

impl Unexpected {
    pub fn new(kind: UnexpectedKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// Judges an answer (`status`, `body`) to a request whose `spec.who` is `who`, against
/// every outcome in `accepted` (reference answers carry `reference_who`).
pub fn judge(
    accepted: &[&Expected],
    status: u16,
    body: &[u8],
    who: &str,
    reference_who: &str,
) -> Verdict {
    // Parsed at most once, and only for a 200.
    let mut answer: Option<Option<Value>> = None;
    for expected in accepted {
        match expected {
            Expected::Answer(reference) if status == 200 => {
                let parsed = answer.get_or_insert_with(|| normalize(body, who, reference_who));
                if parsed.as_ref() == Some(reference) {
                    return Verdict::Answer;
                }
            }
            Expected::Error {
                label,
                status: wanted,
                body: text,
            } if status == *wanted && body == text.as_bytes() => {
                return Verdict::ExpectedError(label);
            }
            _ => {}
        }
    }
    let kind = if status == 200 {
        UnexpectedKind::WrongAnswer
    } else {
        UnexpectedKind::Status(status)
    };
    let wanted: Vec<String> = accepted.iter().map(|e| describe(e)).collect();
    Verdict::Unexpected(Unexpected::new(
        kind,
        format!(
            "got {status} {}; expected {}",
            excerpt(body),
            if wanted.is_empty() {
                "nothing (no outcome accepted)".to_string()
            } else {
                wanted.join(" or ")
            }
        ),
    ))
}

/// The answer as JSON, with this request's `spec.who` replaced by the reference one; `None`
/// when it is not UTF-8 JSON.
fn normalize(body: &[u8], who: &str, reference_who: &str) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    serde_json::from_str(&text.replace(who, reference_who)).ok()
}

fn describe(expected: &Expected) -> String {
    match expected {
        Expected::Answer(reference) => format!("200 {}", excerpt(reference.to_string().as_bytes())),
        Expected::Error { status, body, .. } => format!("{status} {}", excerpt(body.as_bytes())),
    }
}

/// At most 300 characters of `body`, quoted, for an error report.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_end();
    let cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        format!("{cut:?}... ({} bytes)", body.len())
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const REF: &str = "load-0000abcd-18446744073709551615";

    fn greeting(who: &str) -> Value {
        json!({"status": {"pods": 1}, "children": [{"command": ["echo", format!("Hello, {who}!")]}]})
    }

    fn fails() -> Expected {
        Expected::Error {
            label: "fails",
            status: 500,
            body: "hook \"fail\" sync exited with code 3\n".to_string(),
        }
    }

    #[test]
    fn an_answer_matches_whatever_its_key_order_and_spacing() {
        let expected = Expected::Answer(greeting(REF));
        let body = br#"{ "children": [{"command": ["echo", "Hello, load-0000abcd-7!"]}],
                         "status": {"pods": 1} }"#;
        assert_eq!(
            judge(&[&expected], 200, body, "load-0000abcd-7", REF),
            Verdict::Answer
        );
    }

    #[test]
    fn another_requests_answer_is_wrong() {
        let expected = Expected::Answer(greeting(REF));
        // Request 1 answered with request 12's greeting: replacing "...-1" inside "...-12"
        // leaves a string that is still not the reference.
        let body = greeting("load-0000abcd-12").to_string();
        let verdict = judge(&[&expected], 200, body.as_bytes(), "load-0000abcd-1", REF);
        let Verdict::Unexpected(unexpected) = verdict else {
            panic!("{verdict:?}");
        };
        assert_eq!(unexpected.kind, UnexpectedKind::WrongAnswer);
        assert!(
            unexpected.detail.contains("Hello, load-0000abcd-12!"),
            "{unexpected:?}"
        );
        assert!(unexpected.detail.contains(REF), "says what was expected");
    }

    #[test]
    fn errors_match_by_status_and_exact_text() {
        let expected = fails();
        let body = b"hook \"fail\" sync exited with code 3\n";
        assert_eq!(
            judge(&[&expected], 500, body, "w", REF),
            Verdict::ExpectedError("fails")
        );
        let other = b"hook \"fail\" sync exited with code 4\n";
        let Verdict::Unexpected(unexpected) = judge(&[&expected], 500, other, "w", REF) else {
            panic!("another text");
        };
        assert_eq!(unexpected.kind, UnexpectedKind::Status(500));
        assert_eq!(
            judge(&[&expected], 503, body, "w", REF),
            Verdict::Unexpected(Unexpected::new(
                UnexpectedKind::Status(503),
                format!(
                    "got 503 {:?}; expected 500 {:?}",
                    "hook \"fail\" sync exited with code 3",
                    "hook \"fail\" sync exited with code 3"
                )
            ))
        );
    }

    #[test]
    fn around_a_change_either_outcome_is_accepted_and_nothing_else() {
        let old = Expected::Answer(greeting(REF));
        let new = Expected::Answer(json!({"children": [], "status": {"count": 0}}));
        let both = [&old, &new];
        let old_body = greeting("load-0000abcd-3").to_string();
        let new_body = br#"{"status":{"count":0},"children":[]}"#;
        for body in [old_body.as_bytes(), new_body] {
            assert_eq!(
                judge(&both, 200, body, "load-0000abcd-3", REF),
                Verdict::Answer
            );
        }
        // Once the new version is seen, only its answer.
        assert!(matches!(
            judge(&[&new], 200, old_body.as_bytes(), "load-0000abcd-3", REF),
            Verdict::Unexpected(_)
        ));
        assert!(matches!(
            judge(&both, 200, b"[]", "load-0000abcd-3", REF),
            Verdict::Unexpected(Unexpected {
                kind: UnexpectedKind::WrongAnswer,
                ..
            })
        ));
    }

    #[test]
    fn a_200_is_wrong_where_an_error_is_expected_and_bodies_that_are_not_json_too() {
        let Verdict::Unexpected(unexpected) = judge(&[&fails()], 200, b"{}", "w", REF) else {
            panic!("200 for a failing hook");
        };
        assert_eq!(unexpected.kind, UnexpectedKind::WrongAnswer);
        let answer = Expected::Answer(json!({}));
        assert!(matches!(
            judge(&[&answer], 200, b"\xff{}", "w", REF),
            Verdict::Unexpected(_)
        ));
        assert!(matches!(
            judge(&[&answer], 200, b"{} {}", "w", REF),
            Verdict::Unexpected(_)
        ));
    }

    #[test]
    fn excerpts_are_short_and_quoted() {
        assert_eq!(excerpt(b"busy\n"), "\"busy\"");
        let long = excerpt("x".repeat(1000).as_bytes());
        assert!(
            long.ends_with("... (1000 bytes)") && long.len() < 330,
            "{long}"
        );
    }
}
