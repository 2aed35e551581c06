//! WASI command entry point of the `pod-name-label-v2` hook: `pod-name-label-v2 sync`.
//! The logic is in the library.

fn main() {
    service_per_pod_v2::pod_name_label::hooks().main()
}
