//! The `schedules` target: see `daxcheck::fuzz` (docs/fuzzing.md).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    daxcheck::fuzz::target::model(daxcheck::fuzz::Target::Schedules, data);
});
