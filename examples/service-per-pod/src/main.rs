//! WASI command entry point of the `service-per-pod` hook: `service-per-pod <sync|finalize>`.
//! The logic is in the library.

fn main() {
    service_per_pod::hooks().main()
}
