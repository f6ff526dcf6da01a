//! The `replay_file` target: the replay-file parser never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    daxcheck::fuzz::target::replay_file(data);
});
