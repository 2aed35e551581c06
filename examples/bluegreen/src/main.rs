//! WASI command entry point: `bluegreen sync`, run by the metahook SDK. All hook
//! logic lives in the library crate.

fn main() {
    bluegreen::hooks().main()
}
