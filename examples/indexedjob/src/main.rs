//! WASI command entry point: `indexedjob <sync>`; the logic is in the library.

fn main() {
    indexedjob::hooks().main()
}
