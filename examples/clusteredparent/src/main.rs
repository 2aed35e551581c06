//! WASI command entry point of the `clusteredparent` hook: `clusteredparent sync`.
//! The logic is in the library.

fn main() {
    clusteredparent::hooks().main()
}
