//! Command-line handling: --reuse-cmdline/--append composition and the
//! bytes the kernel receives.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let base = text.as_ref();
    for crash in [false, true] {
        let reused = kexec::cmdline::reusable(base, crash);
        // Reuse removes what it removes in one pass: a second pass changes nothing.
        assert_eq!(kexec::cmdline::reusable(&reused, crash), reused);
        let composed = kexec::cmdline::compose(Some(&reused), Some(&text));
        let bytes = kexec::cmdline::to_kernel_bytes(&composed);
        assert_eq!(bytes.last(), Some(&0));
        assert_eq!(bytes.len(), composed.len() + 1);
    }
});
