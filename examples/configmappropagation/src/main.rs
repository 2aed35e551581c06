//! WASI command entry point: `configmappropagation <sync|customize>`, run by the
//! metahook SDK (request JSON on stdin, response JSON on stdout, exit 1 with a
//! message on stderr on failure). All hook logic lives in the library crate.

fn main() {
    configmappropagation::hooks().main()
}
