//! Command-line handling: --reuse-cmdline/--append composition and the
//! bytes the kernel receives. Any bytes: a command line need not be UTF-8.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for crash in [false, true] {
        let reused = kexec::cmdline::reusable(data, crash);
        // Reuse removes what it removes in one pass: a second pass changes nothing.
        assert_eq!(kexec::cmdline::reusable(&reused, crash), reused);
        let composed = kexec::cmdline::compose(Some(&reused), Some(data));
        let bytes = kexec::cmdline::to_kernel_bytes(&composed);
        assert_eq!(bytes.last(), Some(&0));
        assert_eq!(bytes.len(), composed.len() + 1);
        // Shown escaped, losslessly: never longer than 4 characters a byte.
        let shown = kexec::cmdline::escaped(&composed);
        assert!(shown.len() <= composed.len() * 4 + 2);
    }
});
