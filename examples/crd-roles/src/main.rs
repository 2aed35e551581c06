//! WASI command entry point of the `crd-roles` hook: `crd-roles sync`.
//! The logic is in the library.

fn main() {
    crd_roles::hooks().main()
}
