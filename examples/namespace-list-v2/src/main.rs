//! WASI command entry point: `namespace-list-v2 <sync|customize>`, run by the
//! metahook SDK (request JSON on stdin, response JSON on stdout, exit 1 with a
//! message on stderr on failure). All hook logic lives in the library crate.

fn main() {
    namespace_list_v2::hooks().main()
}
