//! WASI command entry point: `update-strategy <sync>`; the logic is in the library.

fn main() {
    update_strategy::hooks().main()
}
