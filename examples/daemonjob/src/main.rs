//! WASI command entry point: `daemonjob <sync>`; the logic is in the library.

fn main() {
    daemonjob::hooks().main()
}
