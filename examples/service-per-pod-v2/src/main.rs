//! WASI command entry point of the `service-per-pod-v2` hook:
//! `service-per-pod-v2 <sync|finalize>`. The logic is in the library.

fn main() {
    service_per_pod_v2::hooks().main()
}
