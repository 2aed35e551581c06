//! Reports: one line per case, a summary line, and JUnit XML for CI systems.

use std::fmt::Write as _;

use crate::run::{CaseResult, Outcome};

/// The line printed for one finished case.
pub fn line(result: &CaseResult) -> String {
    let ms = result.elapsed.as_millis();
    match &result.outcome {
        Outcome::Passed => format!("ok    {} ({ms} ms)", result.id),
        Outcome::Failed { step, reason } => {
            format!("FAIL  {} (step {step}): {reason}", result.id)
        }
        Outcome::Skipped { reason } => format!("skip  {}: {reason}", result.id),
    }
}

/// (passed, failed, skipped)
pub fn counts(results: &[CaseResult]) -> (usize, usize, usize) {
    results
        .iter()
        .fold((0, 0, 0), |(p, f, s), r| match r.outcome {
            Outcome::Passed => (p + 1, f, s),
            Outcome::Failed { .. } => (p, f + 1, s),
            Outcome::Skipped { .. } => (p, f, s + 1),
        })
}

pub fn summary(results: &[CaseResult]) -> String {
    let (passed, failed, skipped) = counts(results);
    format!("{passed} passed, {failed} failed, {skipped} skipped")
}

/// JUnit XML, one `testcase` per case, grouped by the case's directory.
pub fn junit(results: &[CaseResult]) -> String {
    let (_, failed, skipped) = counts(results);
    let total: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuite name=\"hookconformance\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        results.len()
    );
    for result in results {
        let (class, name) = result.id.rsplit_once('/').unwrap_or(("cases", &result.id));
        let _ = write!(
            xml,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&class.replace('/', ".")),
            escape(name),
            result.elapsed.as_secs_f64()
        );
        match &result.outcome {
            Outcome::Passed => xml.push_str("/>\n"),
            Outcome::Failed { step, reason } => {
                let _ = writeln!(
                    xml,
                    ">\n    <failure message=\"step {step}: {}\"/>\n  </testcase>",
                    escape(reason)
                );
            }
            Outcome::Skipped { reason } => {
                let _ = writeln!(
                    xml,
                    ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                    escape(reason)
                );
            }
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn junit_escapes_and_counts() {
        let results = vec![
            CaseResult {
                id: "protocol/a".into(),
                name: "a".into(),
                outcome: Outcome::Passed,
                elapsed: Duration::from_millis(5),
            },
            CaseResult {
                id: "examples/x/b".into(),
                name: "b".into(),
                outcome: Outcome::Failed {
                    step: 1,
                    reason: "expected \"<Pod>\" & more".into(),
                },
                elapsed: Duration::from_millis(7),
            },
        ];
        let xml = junit(&results);
        assert!(xml.contains("tests=\"2\" failures=\"1\" skipped=\"0\""));
        assert!(xml.contains("classname=\"examples.x\" name=\"b\""));
        assert!(xml.contains("expected &quot;&lt;Pod&gt;&quot; &amp; more"));
        assert_eq!(summary(&results), "1 passed, 1 failed, 0 skipped");
        assert_eq!(
            line(&results[1]),
            "FAIL  examples/x/b (step 1): expected \"<Pod>\" & more"
        );
    }
}
