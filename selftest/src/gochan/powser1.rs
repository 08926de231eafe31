//! `$GOROOT/test/chan/powser1.go`: "Test concurrency primitives: power
//! series." Doug McIlroy's power series on demand channels ("Squinting at
//! Power Series"): a series is a pair of unbuffered channels, `req` and
//! `dat`; a consumer sends a request and receives the next rational
//! coefficient; a denominator of zero ends the series. Every operator is a
//! goroutine that demands terms of its inputs as its own are demanded, and
//! `split` gives each coefficient a `dosplit` goroutine that holds it until
//! both consumers have taken it. Go's test mode runs with its checks as
//! they are: Ones, Add, Diff, Integ, Cmul, Sub, Mul, Exp (1 1 3/2 13/6
//! 73/24 ...) and atan, ten terms each; it starts about 200 goroutines, half
//! of which (the operators) stay blocked for good, as in Go.
//!
//! ## Where the port differs
//! - Names: Go tells `add` (rationals) from `Add` (series) by case. Here the
//!   rational operations are `Rat`'s operators and methods (`inv`, `end`),
//!   the series constructors snake_case functions (`add`, `cmul`, `mul`,
//!   ...), and Go's `Split(U)` is [`split_ps`], next to `split(in, out)`.
//! - `dch2`, Go's `*[2]*dch`, is shared by all `dosplit` generations of a
//!   split, which swap its entries in place: an `Arc` of a
//!   `runtime::sync::Mutex` around the pair, read where Go reads `out[i]`.
//! - `seqno` and `chnameserial`, globals that Go's goroutines increment
//!   racily (the values are never read), are atomics; `zero`, `one` and
//!   `finis` are constants that `init` checks against Go's `Init` values.
//! - `getn` takes exactly two series (Go: a slice, `panic("bad n in getn")`).
//! - The helpers that Go's test mode does not run (`printn`, `evaln`,
//!   `eval`, `Monmul`, `Xmul`, `Mon`, `Recip`, `Binom`, `Subst`) are ported
//!   and marked `#[allow(dead_code)]`; Go's print mode is not.
//! - A failed `check` returns `got: X should get Y` instead of
//!   `panic(str)`; the program stops at the first, as Go's does.
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::ops::{Add, Mul, Neg, Sub};
use core::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use runtime::chan::Chan;
use runtime::sync::Mutex;
use runtime::{sched, select};

use super::{Check, Outcome};
use crate::{print, println};

/// A rational: numerator and denominator (`den == 0` ends a series).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Rat {
    num: i64,
    den: i64,
}

/// Go's `pr` (without its trailing space).
impl fmt::Display for Rat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// Integer gcd; needed for rational arithmetic.
fn gcd(u: i64, v: i64) -> i64 {
    if u < 0 {
        return gcd(-u, v);
    }
    if u == 0 {
        return v;
    }
    gcd(v % u, u)
}

/// Make a rational from two ints.
fn i2tor(u: i64, v: i64) -> Rat {
    let g = gcd(u, v);
    if v > 0 {
        Rat { num: u / g, den: v / g }
    } else {
        Rat { num: -u / g, den: -v / g }
    }
}

/// Make a rational from one int.
fn itor(u: i64) -> Rat {
    i2tor(u, 1)
}

/// Go's `zero`, `one` and `finis` (the end mark).
const ZERO: Rat = Rat { num: 0, den: 1 };
const ONE: Rat = Rat { num: 1, den: 1 };
const FINIS: Rat = Rat { num: -1, den: 0 };

impl Rat {
    /// Go's `end`: 1 at the end mark, else 0.
    fn end(self) -> i64 {
        i64::from(self.den == 0)
    }

    /// Invert a rat.
    #[allow(dead_code)] // Recip's only
    fn inv(self) -> Rat {
        if self.num == 0 {
            panic!("zero divide in inv");
        }
        i2tor(self.den, self.num)
    }
}

impl Add for Rat {
    type Output = Rat;
    fn add(self, v: Rat) -> Rat {
        let g = gcd(self.den, v.den);
        i2tor(self.num * (v.den / g) + v.num * (self.den / g), self.den * (v.den / g))
    }
}

impl Mul for Rat {
    type Output = Rat;
    fn mul(self, v: Rat) -> Rat {
        let g1 = gcd(self.num, v.den);
        let g2 = gcd(self.den, v.num);
        Rat { num: (self.num / g1) * (v.num / g2), den: (self.den / g2) * (v.den / g1) }
    }
}

impl Neg for Rat {
    type Output = Rat;
    fn neg(self) -> Rat {
        i2tor(-self.num, self.den)
    }
}

impl Sub for Rat {
    type Output = Rat;
    fn sub(self, v: Rat) -> Rat {
        self + -v
    }
}

/// A demand channel: a power series (Go's `dch`, `PS`).
struct Dch {
    req: Chan<i64>,
    dat: Chan<Rat>,
    #[allow(dead_code)] // a name for debugging, as in Go
    nam: i64,
}

type Ps = Arc<Dch>;

/// A pair of power series (Go's `dch2`), swapped in place by `dosplit`.
struct Dch2 {
    pair: Mutex<[Ps; 2]>,
}

impl Dch2 {
    /// Go's `out[i]`, read now.
    fn get(&self, i: usize) -> Ps {
        self.pair.lock()[i].clone()
    }

    /// Go's `out[0], out[1] = out[1], out[0]`.
    fn swap(&self) {
        self.pair.lock().swap(0, 1);
    }
}

const CHNAMES: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static CHNAMESERIAL: AtomicI64 = AtomicI64::new(-1);
static SEQNO: AtomicI64 = AtomicI64::new(0);
/// Goroutines started by this program (not in Go: printed).
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Go's `seqno++` followed by a read of `seqno`.
fn seqno() -> i64 {
    SEQNO.fetch_add(1, Ordering::Relaxed) + 1
}

fn go(f: impl FnOnce() + Send + 'static) {
    STARTED.fetch_add(1, Ordering::Relaxed);
    sched::go(f);
}

/// Go's `mkdch` (and `mkPS`).
fn mkdch() -> Ps {
    // Go's `%` truncates, so the first name is -1, as here.
    let c = CHNAMESERIAL.fetch_add(1, Ordering::Relaxed) % CHNAMES.len() as i64;
    Arc::new(Dch { req: Chan::new(0), dat: Chan::new(0), nam: c })
}

/// Go's `mkdch2` (and `mkPS2`).
fn mkdch2() -> Arc<Dch2> {
    Arc::new(Dch2 { pair: Mutex::new([mkdch(), mkdch()]) })
}

/// Go's `dosplit`. Split reads a single demand channel and replicates its
/// output onto two, which may be read at different rates. A process is
/// created at first demand for a rat and dies after the rat has been sent
/// to both outputs.
///
/// When multiple generations of split exist, the newest will service
/// requests on one channel, which is always renamed to be out[0]; the
/// oldest will service requests on the other channel, out[1]. All
/// generations but the newest hold queued data that has already been sent
/// to out[0]. When data has finally been sent to out[1], a signal on the
/// release-wait channel tells the next newer generation to begin servicing
/// out[1].
fn dosplit(input: Ps, out: Arc<Dch2>, wait: Chan<i64>) {
    let mut both = false; // do not service both channels
    let o0 = out.get(0);
    select! {
        recv(o0.req) -> _ => {},
        recv(wait) -> _ => {
            both = true;
            let (o0, o1) = (out.get(0), out.get(1));
            select! {
                recv(o0.req) -> _ => {},
                recv(o1.req) -> _ => out.swap(),
            }
        },
    }
    input.req.send(seqno());
    let release = Chan::new(0);
    let (i, o, r) = (input.clone(), out.clone(), release.clone());
    go(move || dosplit(i, o, r));
    let dat = input.dat.recv().unwrap_or_default();
    out.get(0).dat.send(dat);
    if !both {
        wait.recv();
    }
    out.get(1).req.recv();
    out.get(1).dat.send(dat);
    release.send(0);
}

/// Go's `split`.
fn split(input: Ps, out: Arc<Dch2>) {
    let release = Chan::new(0);
    let r = release.clone();
    go(move || dosplit(input, out, r));
    release.send(0);
}

fn put(dat: Rat, out: &Ps) {
    out.req.recv();
    out.dat.send(dat);
}

fn get(input: &Ps) -> Rat {
    input.req.send(seqno());
    input.dat.recv().unwrap_or_default()
}

/// Get one rat from each of two demand channels (Go's `getn` and `get2`).
fn get2(in0: &Ps, in1: &Ps) -> [Rat; 2] {
    let input = [in0, in1];
    let mut req = [in0.req.clone(), in1.req.clone()];
    let mut dat: [Chan<Rat>; 2] = [Chan::nil(), Chan::nil()];
    let mut out = [Rat::default(); 2];
    for _ in 0..2 * input.len() {
        let s = seqno();
        select! {
            send(req[0], s) => {
                dat[0] = input[0].dat.clone();
                req[0] = Chan::nil();
            },
            send(req[1], s) => {
                dat[1] = input[1].dat.clone();
                req[1] = Chan::nil();
            },
            recv(dat[0]) -> it => {
                out[0] = it.unwrap_or_default();
                dat[0] = Chan::nil();
            },
            recv(dat[1]) -> it => {
                out[1] = it.unwrap_or_default();
                dat[1] = Chan::nil();
            },
        }
    }
    out
}

fn copy(input: &Ps, out: &Ps) -> ! {
    loop {
        out.req.recv();
        out.dat.send(get(input));
    }
}

fn repeat(dat: Rat, out: &Ps) -> ! {
    loop {
        put(dat, out);
    }
}

/// Print n terms of a power series.
#[allow(dead_code)] // Go's print mode
fn printn(u: &Ps, mut n: usize) {
    let mut done = false;
    while !done && n > 0 {
        let r = get(u);
        if r.end() != 0 {
            done = true;
        } else {
            print!("{r} ");
        }
        n -= 1;
    }
    println!();
}

/// Print the value of `u` at x=c to n terms, in floating point (with Go's
/// slip: each term is multiplied by x, not by xⁿ).
#[allow(dead_code)] // unused in Go too
fn evaln(c: Rat, u: &Ps, n: usize) {
    let mut xn = 1f64;
    let x = c.num as f64 / c.den as f64;
    let mut val = 0f64;
    for _ in 0..n {
        let r = get(u);
        if r.end() != 0 {
            break;
        }
        val += x * r.num as f64 / r.den as f64;
        xn *= x;
    }
    let _ = xn;
    println!("{val}");
}

/// Evaluate n terms of power series U at x=c.
#[allow(dead_code)] // unused in Go too
fn eval(c: Rat, u: &Ps, n: usize) -> Rat {
    if n == 0 {
        return ZERO;
    }
    let y = get(u);
    if y.end() != 0 {
        return ZERO;
    }
    y + c * eval(c, u, n - 1)
}

// Power-series constructors return channels on which power series flow.
// They start an encapsulated generator that puts the terms of the series
// on the channel.

/// Go's `Split`: make a pair of power series identical to a given one.
fn split_ps(u: &Ps) -> Arc<Dch2> {
    let uu = mkdch2();
    let (u, pair) = (u.clone(), uu.clone());
    go(move || split(u, pair));
    uu
}

/// Starts `body(Z)` on a goroutine and returns Z (Go's `Z := mkPS(); go func() {..}(); return Z`).
fn generator(body: impl FnOnce(Ps) + Send + 'static) -> Ps {
    let z = mkdch();
    let zz = z.clone();
    go(move || body(zz));
    z
}

/// Add two power series.
fn add(u: &Ps, v: &Ps) -> Ps {
    let (u, v) = (u.clone(), v.clone());
    generator(move |z| loop {
        z.req.recv();
        let uv = get2(&u, &v);
        match uv[0].end() + 2 * uv[1].end() {
            0 => z.dat.send(uv[0] + uv[1]),
            1 => {
                z.dat.send(uv[1]);
                copy(&v, &z);
            }
            2 => {
                z.dat.send(uv[0]);
                copy(&u, &z);
            }
            _ => z.dat.send(FINIS),
        }
    })
}

/// Multiply a power series by a constant.
fn cmul(c: Rat, u: &Ps) -> Ps {
    let u = u.clone();
    generator(move |z| {
        let mut done = false;
        while !done {
            z.req.recv();
            let r = get(&u);
            if r.end() != 0 {
                done = true;
            } else {
                z.dat.send(c * r);
            }
        }
        z.dat.send(FINIS);
    })
}

/// Subtract.
fn sub(u: &Ps, v: &Ps) -> Ps {
    add(u, &cmul(-ONE, v))
}

/// Multiply a power series by the monomial x^n.
#[allow(dead_code)] // unused in Go too
fn monmul(u: &Ps, mut n: usize) -> Ps {
    let u = u.clone();
    generator(move |z| {
        while n > 0 {
            put(ZERO, &z);
            n -= 1;
        }
        copy(&u, &z);
    })
}

/// Multiply by x.
#[allow(dead_code)] // unused in Go too
fn xmul(u: &Ps) -> Ps {
    monmul(u, 1)
}

fn rep(c: Rat) -> Ps {
    generator(move |z| repeat(c, &z))
}

/// Monomial c*x^n.
#[allow(dead_code)] // unused in Go too
fn mon(c: Rat, mut n: usize) -> Ps {
    generator(move |z| {
        if c.num != 0 {
            while n > 0 {
                put(ZERO, &z);
                n -= 1;
            }
            put(c, &z);
        }
        put(FINIS, &z);
    })
}

#[allow(dead_code)] // Recip's only
fn shift(c: Rat, u: &Ps) -> Ps {
    let u = u.clone();
    generator(move |z| {
        put(c, &z);
        copy(&u, &z);
    })
}

/// Multiply. The algorithm is
///   let U = u + x*UU
///   let V = v + x*VV
///   then UV = u*v + x*(u*VV+v*UU) + x*x*UU*VV
fn mul(u: &Ps, v: &Ps) -> Ps {
    let (u, v) = (u.clone(), v.clone());
    generator(move |z| {
        z.req.recv();
        let uv = get2(&u, &v);
        if uv[0].end() != 0 || uv[1].end() != 0 {
            z.dat.send(FINIS);
        } else {
            z.dat.send(uv[0] * uv[1]);
            let uu = split_ps(&u);
            let vv = split_ps(&v);
            let w = add(&cmul(uv[0], &vv.get(0)), &cmul(uv[1], &uu.get(0)));
            z.req.recv();
            z.dat.send(get(&w));
            copy(&add(&w, &mul(&uu.get(1), &vv.get(1))), &z);
        }
    })
}

/// Differentiate.
fn diff(u: &Ps) -> Ps {
    let u = u.clone();
    generator(move |z| {
        z.req.recv();
        let mut r = get(&u);
        if r.end() == 0 {
            let mut done = false;
            let mut i = 1;
            while !done {
                r = get(&u);
                if r.end() != 0 {
                    done = true;
                } else {
                    z.dat.send(itor(i) * r);
                    z.req.recv();
                }
                i += 1;
            }
        }
        z.dat.send(FINIS);
    })
}

/// Integrate, with const of integration.
fn integ(c: Rat, u: &Ps) -> Ps {
    let u = u.clone();
    generator(move |z| {
        put(c, &z);
        let mut done = false;
        let mut i = 1;
        while !done {
            z.req.recv();
            let r = get(&u);
            if r.end() != 0 {
                done = true;
            }
            z.dat.send(i2tor(1, i) * r);
            i += 1;
        }
        z.dat.send(FINIS);
    })
}

/// Binomial theorem (1+x)^c.
#[allow(dead_code)] // unused in Go too
fn binom(mut c: Rat) -> Ps {
    generator(move |z| {
        let mut n = 1;
        let mut t = itor(1);
        while c.num != 0 {
            put(t, &z);
            t = t * c * i2tor(1, n);
            c = c - ONE;
            n += 1;
        }
        put(FINIS, &z);
    })
}

/// Reciprocal of a power series
///   let U = u + x*UU
///   let Z = z + x*ZZ
///   (u+x*UU)*(z+x*ZZ) = 1
///   z = 1/u
///   u*ZZ + z*UU +x*UU*ZZ = 0
///   ZZ = -UU*(z+x*ZZ)/u
#[allow(dead_code)] // unused in Go too
fn recip(u: &Ps) -> Ps {
    let u = u.clone();
    generator(move |z| {
        let zz = mkdch2();
        z.req.recv();
        let r = get(&u).inv();
        z.dat.send(r);
        split(mul(&cmul(-r, &u), &shift(r, &zz.get(0))), zz.clone());
        copy(&zz.get(1), &z);
    })
}

/// Exponential of a power series with constant term 0 (nonzero constant
/// term would make nonrational coefficients; bug: the constant term is
/// simply ignored):
///   Z = exp(U)
///   DZ = Z*DU
///   integrate to get Z
fn exp(u: &Ps) -> Ps {
    let zz = mkdch2();
    split(integ(ONE, &mul(&zz.get(0), &diff(u))), zz.clone());
    zz.get(1)
}

/// Substitute V for x in U, where the leading term of V is zero
///   let U = u + x*UU
///   let V = v + x*VV
///   then S(U,V) = u + VV*S(V,UU)
/// (bug: a nonzero constant term is ignored).
#[allow(dead_code)] // unused in Go too
fn subst(u: &Ps, v: &Ps) -> Ps {
    let (u, v) = (u.clone(), v.clone());
    generator(move |z| {
        let vv = split_ps(&v);
        z.req.recv();
        let r = get(&u);
        z.dat.send(r);
        if r.end() == 0 {
            if get(&vv.get(0)).end() != 0 {
                put(FINIS, &z);
            } else {
                copy(&mul(&vv.get(0), &subst(&u, &vv.get(1))), &z);
            }
        }
    })
}

/// Monomial substitution: U(c x^n). Each Ui is multiplied by c^i and
/// followed by n-1 zeros.
fn mon_subst(u: &Ps, c0: Rat, n: usize) -> Ps {
    let u = u.clone();
    generator(move |z| {
        let mut c = ONE;
        loop {
            z.req.recv();
            let r = get(&u);
            z.dat.send(r * c);
            c = c * c0;
            if r.end() != 0 {
                z.dat.send(FINIS);
                break;
            }
            for _ in 1..n {
                z.req.recv();
                z.dat.send(ZERO);
            }
        }
    })
}

/// Go's `Init`: resets the counters, checks the constants, returns Ones and Twos.
fn init() -> Result<(Ps, Ps), String> {
    CHNAMESERIAL.store(-1, Ordering::Relaxed);
    SEQNO.store(0, Ordering::Relaxed);
    if (itor(0), itor(1), i2tor(1, 0)) != (ZERO, ONE, FINIS) {
        return Err(format!("Init: zero {} one {} finis {:?}", itor(0), itor(1), i2tor(1, 0)));
    }
    Ok((rep(ONE), rep(itor(2))))
}

fn check(u: &Ps, c: Rat, count: usize, s: &str) -> Result<(), String> {
    for _ in 0..count {
        let r = get(u);
        if r != c {
            return Err(format!("{s}: got: {r} should get {c}"));
        }
    }
    Ok(())
}

const N: usize = 10;

fn checka(u: &Ps, a: &[Rat; N], s: &str) -> Result<(), String> {
    a.iter().try_for_each(|&r| check(u, r, 1, s))
}

/// powser1.go's `main`, test mode.
pub fn powser1(_: &Arc<Check>) -> Outcome {
    STARTED.store(0, Ordering::Relaxed);
    let before = sched::num_goroutine();
    let (ones, twos) = init()?;
    check(&ones, ONE, 5, "Ones")?;
    check(&add(&ones, &ones), itor(2), 0, "Add Ones Ones")?; // 1 1 1 1 1
    check(&add(&ones, &twos), itor(3), 0, "Add Ones Twos")?; // 3 3 3 3 3
    let mut a = [Rat::default(); N];
    let d = diff(&ones);
    for (i, r) in a.iter_mut().enumerate() {
        *r = itor(i as i64 + 1);
    }
    checka(&d, &a, "Diff")?; // 1 2 3 4 5
    let integral = integ(ZERO, &ones);
    a[0] = ZERO; // integration constant
    for (i, r) in a.iter_mut().enumerate().skip(1) {
        *r = i2tor(1, i as i64);
    }
    checka(&integral, &a, "Integ")?; // 0 1 1/2 1/3 1/4 1/5
    check(&cmul(-ONE, &twos), itor(-2), 10, "CMul")?; // -1 -1 -1 -1 -1
    check(&sub(&ones, &twos), itor(-1), 0, "Sub Ones Twos")?; // -1 -1 -1 -1 -1
    let m = mul(&ones, &ones);
    for (i, r) in a.iter_mut().enumerate() {
        *r = itor(i as i64 + 1);
    }
    checka(&m, &a, "Mul")?; // 1 2 3 4 5
    let e = exp(&ones);
    a = [
        itor(1),
        itor(1),
        i2tor(3, 2),
        i2tor(13, 6),
        i2tor(73, 24),
        i2tor(167, 40),
        i2tor(4051, 720),
        i2tor(37633, 5040),
        i2tor(43817, 4480),
        i2tor(4596553, 362880),
    ];
    checka(&e, &a, "Exp")?; // 1 1 3/2 13/6 73/24
    let at = integ(ZERO, &mon_subst(&ones, -ONE, 2));
    let mut c = 1;
    for (i, r) in a.iter_mut().enumerate() {
        if i % 2 == 0 {
            *r = ZERO;
        } else {
            *r = i2tor(c, i as i64);
            c *= -1;
        }
    }
    checka(&at, &a, "ATan")?; // 0 -1 0 -1/3 0 -1/5
    Ok(format!(
        "Ones, Add, Diff, Integ, Cmul, Sub, Mul, Exp (to {}), ATan; {} goroutines started, {} still blocked",
        i2tor(4596553, 362880),
        STARTED.load(Ordering::Relaxed),
        sched::num_goroutine().saturating_sub(before)
    ))
}
