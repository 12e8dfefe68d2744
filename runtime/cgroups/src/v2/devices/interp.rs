//! A test-only interpreter for exactly the instructions [`program`](super::program) emits,
//! with the verifier's rules that matter for them: no register read before it is written,
//! context reads only from R1 and only at the three fields, forward jumps inside the program,
//! R0 set at exit. Any other instruction is a test failure, so the generator cannot start
//! using one the tests do not understand.

use super::program::{op, Insn};

/// What a register holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Unset,
    /// The pointer to `struct bpf_cgroup_dev_ctx` (R1 at entry).
    Ctx,
    Scalar(u64),
}

/// The context the kernel passes: `(access << 16) | type`, major, minor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub(crate) access_type: u32,
    pub(crate) major: u32,
    pub(crate) minor: u32,
}

/// Run `insns` on `ctx` and return R0 at exit (1 lets the access through).
pub(crate) fn run(insns: &[Insn], ctx: Ctx) -> u64 {
    let mut regs = [Value::Unset; 11];
    regs[1] = Value::Ctx;
    let mut pc = 0usize;
    let scalar = |regs: &[Value; 11], r: u8, pc: usize| match regs[usize::from(r)] {
        Value::Scalar(v) => v,
        other => panic!("insn {pc}: R{r} read as a number but holds {other:?}"),
    };
    // Jumps only go forward, so a program runs at most one pass.
    for _ in 0..=insns.len() {
        let insn = *insns
            .get(pc)
            .unwrap_or_else(|| panic!("fell off the end of the program at {pc}"));
        let (dst, src) = (insn.dst(), insn.src());
        assert!(
            dst <= 10 && src <= 10,
            "insn {pc}: bad register in {insn:?}"
        );
        let mut next = pc + 1;
        match insn.code {
            c if c == op::LDX | op::MEM | op::W => {
                assert_eq!(
                    regs[usize::from(src)],
                    Value::Ctx,
                    "insn {pc}: load from R{src}"
                );
                let value = match insn.off {
                    0 => ctx.access_type,
                    4 => ctx.major,
                    8 => ctx.minor,
                    off => panic!("insn {pc}: no context field at offset {off}"),
                };
                regs[usize::from(dst)] = Value::Scalar(u64::from(value));
            }
            c if c == op::ALU | op::AND | op::K => {
                let v = scalar(&regs, dst, pc) as u32 & insn.imm as u32;
                regs[usize::from(dst)] = Value::Scalar(u64::from(v));
            }
            c if c == op::ALU | op::RSH | op::K => {
                assert!(
                    (0..32).contains(&insn.imm),
                    "insn {pc}: shift by {}",
                    insn.imm
                );
                let v = (scalar(&regs, dst, pc) as u32) >> insn.imm;
                regs[usize::from(dst)] = Value::Scalar(u64::from(v));
            }
            c if c == op::ALU | op::MOV | op::K => {
                regs[usize::from(dst)] = Value::Scalar(u64::from(insn.imm as u32));
            }
            c if c == op::ALU | op::MOV | op::X => {
                let v = scalar(&regs, src, pc) as u32;
                regs[usize::from(dst)] = Value::Scalar(u64::from(v));
            }
            c if c == op::JMP | op::JNE | op::K
                || c == op::JMP | op::JEQ | op::K
                || c == op::JMP | op::JNE | op::X =>
            {
                let left = scalar(&regs, dst, pc);
                let right = if c & op::X != 0 {
                    scalar(&regs, src, pc)
                } else {
                    insn.imm as i64 as u64 // sign-extended, as the kernel does
                };
                let equal = left == right;
                let taken = if c & 0xf0 == op::JEQ { equal } else { !equal };
                assert!(insn.off >= 0, "insn {pc}: backward jump");
                if taken {
                    next = pc + 1 + insn.off as usize;
                }
                assert!(next < insns.len(), "insn {pc}: jump out of the program");
            }
            c if c == op::JMP | op::EXIT => return scalar(&regs, 0, pc),
            _ => panic!("insn {pc}: the interpreter does not know {insn:?}"),
        }
        pc = next;
    }
    panic!("the program did not exit");
}
