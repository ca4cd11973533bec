// The fuzz driver: `pds-fuzz TARGET [libFuzzer options] [corpus dirs]`.
// It takes the target's name off the command line and hands the rest to
// libFuzzer, whose own `main` is not linked (SwiftPM gives an executable the
// module's `main`; libFuzzer's `LLVMFuzzerRunDriver` runs the loop instead).
// scripts/fuzz builds this with `-sanitize=fuzzer,address` and runs it.
import Glibc

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

let arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTargets.all.first(where: { $0.name == arguments[1] }) else {
    let names = FuzzTargets.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n")
    let usage = "usage: pds-fuzz TARGET [libFuzzer options] [corpus directories]\ntargets:\n\(names)\n"
    _ = usage.withCString { write(2, $0, strlen($0)) }
    exit(2)
}
FuzzTargets.selected = target

@_silgen_name("__lsan_disable") func lsanDisable()
@_silgen_name("__lsan_enable") func lsanEnable()
lsanDisable()
target.prepare()
lsanEnable()

// libFuzzer sees argv without the target's name (it keeps argv[0]).
var argc = CommandLine.argc - 1
var argv = CommandLine.unsafeArgv
argv[1] = argv[0]
var shifted = argv + 1
exit(LLVMFuzzerRunDriver(&argc, &shifted) { data, size in
    FuzzTargets.selected.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
