//! The hooks in C, Go and AssemblyScript (examples/other-languages, built by
//! `make other-languages`) answer through the server like the Rust ones.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

const LANGUAGES: [&str; 3] = ["c", "go", "assemblyscript"];

fn built_module(language: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/other-languages")
        .join(language)
        .join("hook.wasm");
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}; build the other-language hooks first with \
             `make other-languages`",
            path.display()
        )
    })
}

#[test]
fn hooks_in_other_languages_answer_like_rust_ones() {
    let modules = ModuleDir::new();
    for language in LANGUAGES {
        modules.put(&format!("hook-{language}"), &built_module(language));
    }
    let server = Server::start(&modules, &["--strict"]);
    let request = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/other-languages/request.json"),
    )
    .expect("request.json");

    for language in LANGUAGES {
        let response = server.post(&format!("/hooks/hook-{language}/sync"), &request);
        assert_eq!(response.status(), 200, "{language}");
        let answer: Value = response.json().expect("JSON");
        assert_eq!(
            answer["children"][0]["kind"], "ConfigMap",
            "{language}: {answer}"
        );
        assert_eq!(
            answer["children"][0]["metadata"]["name"], "hello-there",
            "{language}: {answer}"
        );

        // A request without a parent name is refused by the hook itself, with a reason.
        let nameless = server.post(
            &format!("/hooks/hook-{language}/sync"),
            r#"{"controller":{},"parent":{"metadata":{}},"children":{"ConfigMap.v1":{}}}"#,
        );
        assert_eq!(nameless.status(), 500, "{language}");
        let body = nameless.text().expect("body");
        assert!(body.contains("stderr:"), "{language}: {body}");
    }
}
