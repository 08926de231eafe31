// Command init is PID 1 of the benchmark guest: a Linux kernel, this program
// and the test binaries /PKG.test (Go's own, and gort's from harness/gobench)
// in an initramfs (see harness/src/go.rs).
//
// Its orders come from the kernel command line:
//
//	gobench=PKG:NAME[,PKG:NAME...]   benchmarks to run, NAME without "Benchmark"
//	gobench.benchtime=D              Go's -test.benchtime (1s, 200ms, 100x); default 1s
//
// for example "gobench=time:NowUnixNano,runtime:ChanSync gobench.benchtime=1s".
// It does, in order:
//
//  1. mount proc on /proc, sysfs on /sys, devtmpfs on /dev and tmpfs on /tmp
//     (a failed mount is reported and skipped: only /proc is essential);
//  2. read the orders from /proc/cmdline;
//  3. wait (up to 10 s) for Linux to move from its boot clocksource
//     "tsc-early" to "tsc", then print what the results' metadata records:
//     "gobench: cpus=N clocksource=C" (so a slow run can be told apart from a
//     guest that fell back from the TSC to the HPET), "gobench: cmdline=..."
//     and "gobench: mitigations=NAME: STATE | ..." (the CPU vulnerabilities
//     Linux reports, each with the mitigation it chose);
//  4. run each package's binary once, packages in order of first mention, as
//     /PKG.test -test.run=^$ -test.bench=^Benchmark(NAME|NAME)$
//     -test.benchtime=D -test.count=1 with GODEBUG=gctrace=1, its standard
//     output and error both into one file on tmpfs (one open file, so the
//     runtime's GC lines and the testing package's lines stay in the order
//     they were written), copied to the console after the binary exits: a
//     GC line costs the benchmark a write to memory, not to the emulated
//     serial port;
//  5. print "gobench: clocksource after=C": the host fails the round if Linux
//     left the TSC at any point it could see;
//  6. print the end marker "gobench: end status=ok" (every binary exited 0)
//     or "gobench: end status=fail", and power the machine off.
//
// The host treats a console without the end marker as a failed run, so
// anything that goes wrong before step 5 (a bad command line, a crash of this
// program) shows up as an error carrying the console text. If power-off
// fails, main returns: the kernel panics on the death of init, and with
// panic=-1 and QEMU's -no-reboot that still ends QEMU.
//
// The command line is read from /proc/cmdline rather than from the
// environment and arguments the kernel hands to init, because the kernel
// keeps words with a dot in their name (gobench.benchtime) for modules and
// never passes them on.
package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// endMarker starts the last line this program prints; the host looks for it.
const endMarker = "gobench: end status="

// orders is what the kernel command line asks for.
type orders struct {
	benchtime string
	// packages in order of first mention; names[pkg] in order of mention.
	packages []string
	names    map[string][]string
}

func main() {
	fmt.Println("gobench: init started")
	mountAll()
	status := "fail"
	if runAll() {
		status = "ok"
	}
	fmt.Println(endMarker + status)
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println("gobench: power off failed:", err)
	}
}

// mountAll mounts the pseudo file systems the benchmarks and this program use.
func mountAll() {
	mounts := []struct{ fstype, target string }{
		{"proc", "/proc"},
		{"sysfs", "/sys"},
		{"devtmpfs", "/dev"},
		{"tmpfs", "/tmp"},
	}
	for _, m := range mounts {
		if err := syscall.Mount(m.fstype, m.target, m.fstype, 0, ""); err != nil {
			fmt.Printf("gobench: mount %s on %s: %v\n", m.fstype, m.target, err)
		}
	}
}

// runAll runs every binary the command line asks for and reports whether all succeeded.
func runAll() bool {
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		fmt.Println("gobench: cannot read the kernel command line:", err)
		return false
	}
	o, err := parseCmdline(string(cmdline))
	if err != nil {
		fmt.Println("gobench:", err)
		return false
	}
	fmt.Printf("gobench: cpus=%d clocksource=%s\n", runtime.NumCPU(), settledClocksource())
	fmt.Printf("gobench: cmdline=%s\n", strings.TrimSpace(string(cmdline)))
	fmt.Printf("gobench: mitigations=%s\n", mitigations())
	ok := true
	for _, pkg := range o.packages {
		if !runPackage(pkg, o.names[pkg], o.benchtime) {
			ok = false
		}
	}
	fmt.Printf("gobench: clocksource after=%s\n", clocksource())
	return ok
}

// parseCmdline extracts the orders from the kernel command line.
func parseCmdline(cmdline string) (orders, error) {
	o := orders{benchtime: "1s", names: map[string][]string{}}
	for _, word := range strings.Fields(cmdline) {
		key, value, _ := strings.Cut(word, "=")
		switch key {
		case "gobench.benchtime":
			o.benchtime = value
		case "gobench":
			for _, item := range strings.Split(value, ",") {
				pkg, name, found := strings.Cut(item, ":")
				if !found || !isIdentifier(pkg) || !isIdentifier(name) {
					return o, fmt.Errorf("bad benchmark %q on the command line: want PKG:NAME", item)
				}
				if o.names[pkg] == nil {
					o.packages = append(o.packages, pkg)
				}
				o.names[pkg] = append(o.names[pkg], name)
			}
		}
	}
	if len(o.packages) == 0 {
		return o, fmt.Errorf("no benchmarks on the command line: want gobench=PKG:NAME[,PKG:NAME...]")
	}
	return o, nil
}

// runPackage runs the named benchmarks of one package's test binary once.
func runPackage(pkg string, names []string, benchtime string) bool {
	args := []string{
		"-test.run=^$",
		"-test.bench=^Benchmark(" + strings.Join(names, "|") + ")$",
		"-test.benchtime=" + benchtime,
		"-test.count=1",
	}
	binary := "/" + pkg + ".test"
	fmt.Println("gobench: running", binary, strings.Join(args, " "), "with GODEBUG=gctrace=1")
	out, err := os.Create("/tmp/" + pkg + ".out")
	if err != nil {
		fmt.Println("gobench: cannot create the output file:", err)
		return false
	}
	defer out.Close()
	cmd := exec.Command(binary, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Dir = "/tmp"
	cmd.Env = []string{"PATH=/", "HOME=/tmp", "TMPDIR=/tmp", "GODEBUG=gctrace=1"}
	runErr := cmd.Run()
	if _, err := out.Seek(0, io.SeekStart); err == nil {
		_, err = io.Copy(os.Stdout, out)
	}
	if err != nil {
		fmt.Printf("gobench: cannot copy %s's output: %v\n", binary, err)
		return false
	}
	if runErr != nil {
		fmt.Printf("gobench: %s failed: %v\n", binary, runErr)
		return false
	}
	return true
}

// mitigations lists /sys/devices/system/cpu/vulnerabilities as
// "name: state | name: state" (a state may itself hold ';' and ':'), or
// "unknown" if the directory cannot be read.
func mitigations() string {
	dir := "/sys/devices/system/cpu/vulnerabilities"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "unknown"
	}
	var items []string
	for _, e := range entries {
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			continue
		}
		items = append(items, e.Name()+": "+strings.TrimSpace(string(b)))
	}
	return strings.Join(items, " | ")
}

// settledClocksource waits (up to 10 s) while the clocksource is still
// "tsc-early" and returns the current one. Linux boots on tsc-early and moves
// to "tsc" once its refined calibration, a delayed work item about a second
// after boot, has run; under emulation that is sometimes after init starts,
// and Go's timer benchmarks run slow until then. The anchor must be Go at its
// best, so the benchmarks wait for the switch.
func settledClocksource() string {
	deadline := time.Now().Add(10 * time.Second)
	cs := clocksource()
	for cs == "tsc-early" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		cs = clocksource()
	}
	return cs
}

// clocksource names the kernel's current clocksource ("tsc", "hpet", ...).
func clocksource() string {
	b, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// isIdentifier reports whether s is a non-empty run of ASCII letters, digits
// and underscores: a Go package or benchmark name that needs no quoting in a
// regular expression or on the kernel command line.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
