//! Fuzzes `taskmem::fuzzing::Target::Model` (see src/fuzzing.rs for what it reads).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    taskmem::fuzzing::run(taskmem::fuzzing::Target::Model, data);
});
