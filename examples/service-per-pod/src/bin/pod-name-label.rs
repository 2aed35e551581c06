//! WASI command entry point of the `pod-name-label` hook: `pod-name-label sync`.
//! The logic is in the library.

fn main() {
    service_per_pod::pod_name_label::hooks().main()
}
