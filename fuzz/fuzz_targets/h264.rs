//! Fuzzes `taskmem::fuzzing::Target::H264` (see src/fuzzing.rs for what it reads).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    taskmem::fuzzing::run(taskmem::fuzzing::Target::H264, data);
});
