//! WASI command entry point: `catset <sync|finalize>`, request on stdin, response on stdout.

fn main() {
    catset::hooks().main()
}
