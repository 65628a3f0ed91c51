//! The whole kexec_load plan builder (boot::plan_kexec_load_bytes: format
//! detection, ELF/bzImage parsing, layout, zero page, elfcorehdr, purgatory
//! and digests), then the rules model, on arbitrary bytes as the kernel
//! file, for normal and crash loads. The machine is a FakeHost with little
//! RAM, so no fuzzed size makes a layout hash more than a few MiB.
#![no_main]
use kexec::boot::x86_linux::{BootArgs, LoadOptions};
use kexec::boot::{plan_kexec_load_bytes, KernelBytes};
use kexec::{Facts, FakeHost, Plan, Target};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "fuzzed-kernel";

// libFuzzer runs targets on one thread, and FakeHost is not Sync (its
// kernel log is shared through Rc), so the machine is built once per thread.
fn machine() -> &'static (FakeHost, Facts) {
    thread_local! {
        static MACHINE: &'static (FakeHost, Facts) = Box::leak(Box::new(build_machine()));
    }
    MACHINE.with(|machine| *machine)
}

fn build_machine() -> (FakeHost, Facts) {
    let mut host = FakeHost::typical();
    kexec::testing::add_crash_files(&mut host);
    host.set(
        "/proc/iomem",
        "00000000-00000fff : Reserved\n\
         00001000-0009fbff : System RAM\n\
         000f0000-000fffff : Reserved\n\
         00100000-00ffffff : System RAM\n\
         \x20 00100000-001fffff : Kernel code\n\
         \x20 00800000-00ffffff : Crash kernel\n",
    );
    host.set("/proc/meminfo", "MemTotal:          16384 kB\n");
    let facts = Facts::gather(&host);
    (host, facts)
}

fuzz_target!(|data: &[u8]| {
    let (host, facts) = machine();
    let initrd: &[u8] = b"070701 fuzz initrd";
    for target in [Target::Normal, Target::Crash] {
        let load = KernelBytes {
            target,
            name: NAME,
            kernel: data,
            initrd: (data.len() % 2 == 0).then_some(initrd),
            cmdline: b"console=ttyS0",
            sources: &[],
        };
        match plan_kexec_load_bytes(host, facts, &load, BootArgs::Linux, &LoadOptions::default()) {
            Ok(plan) => {
                let Plan::Load { ref segments, .. } = plan else {
                    panic!("not a kexec_load plan");
                };
                assert!(segments.len() <= 16);
                for s in segments {
                    assert!(
                        s.data.len() as u64 <= s.memsz && s.mem % 4096 == 0 && s.memsz % 4096 == 0
                    );
                }
                let _ = kexec::rules::check(&plan, facts);
                let _ = plan.describe();
                let _ = plan.to_json();
            }
            Err(e) => assert!(e.to_string().contains(NAME), "{e}"),
        }
    }
});
