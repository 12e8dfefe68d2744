//! The eBPF instructions of a `BPF_PROG_TYPE_CGROUP_DEVICE` program for a device policy.
//!
//! The kernel runs the program on every mknod and every open of a device node by a process of
//! the cgroup, with a `struct bpf_cgroup_dev_ctx` in R1:
//!
//! ```text
//! offset 0  u32 access_type   (access << 16) | type   type: 1 block, 2 char
//!                                                     access: 1 mknod, 2 read, 4 write
//! offset 4  u32 major
//! offset 8  u32 minor
//! ```
//!
//! and lets the access through when R0 is 1 at exit. The program loads the four values into
//! R2..R5, tries each exception of the policy in turn (a block of compares that jumps past
//! itself on the first mismatch, then "R0 = the exception's verdict; exit") and ends with the
//! default. Only a handful of instructions are used, all of them known to every kernel with
//! device programs (4.15): 32-bit loads from the context, 32-bit `and`, `rsh` and `mov`, the
//! `jne`/`jeq` jumps and `exit`.

use crate::device_rules::{Access, DeviceKind, DevicePolicy, Pattern};

/// One instruction, laid out as the kernel's `struct bpf_insn`: the opcode, the destination
/// register in the low nibble and the source register in the high one, an offset, an immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub(crate) code: u8,
    pub(crate) regs: u8,
    pub(crate) off: i16,
    pub(crate) imm: i32,
}

/// Opcode parts (`linux/bpf_common.h`, `linux/bpf.h`): class | size/operation | mode/source.
pub(crate) mod op {
    pub(crate) const LDX: u8 = 0x01;
    pub(crate) const ALU: u8 = 0x04;
    pub(crate) const JMP: u8 = 0x05;
    pub(crate) const W: u8 = 0x00;
    pub(crate) const MEM: u8 = 0x60;
    pub(crate) const K: u8 = 0x00;
    pub(crate) const X: u8 = 0x08;
    pub(crate) const AND: u8 = 0x50;
    pub(crate) const RSH: u8 = 0x70;
    pub(crate) const MOV: u8 = 0xb0;
    pub(crate) const JEQ: u8 = 0x10;
    pub(crate) const JNE: u8 = 0x50;
    pub(crate) const EXIT: u8 = 0x90;
}

/// The registers the program uses.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

/// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR`.
pub(crate) const DEV_BLOCK: u32 = 1;
pub(crate) const DEV_CHAR: u32 = 2;

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (src << 4) | dst,
            off,
            imm,
        }
    }

    #[cfg(test)]
    pub(crate) fn dst(self) -> u8 {
        self.regs & 0x0f
    }

    #[cfg(test)]
    pub(crate) fn src(self) -> u8 {
        self.regs >> 4
    }

    /// `dst = *(u32 *)(src + off)`
    fn load_word(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(op::LDX | op::MEM | op::W, dst, src, off, 0)
    }

    /// `dst = (u32)dst OP imm` (a 32-bit operation clears the upper half)
    fn alu32(operation: u8, dst: u8, imm: i32) -> Insn {
        Insn::new(op::ALU | operation | op::K, dst, 0, 0, imm)
    }

    /// `dst = (u32)src`
    fn mov32_reg(dst: u8, src: u8) -> Insn {
        Insn::new(op::ALU | op::MOV | op::X, dst, src, 0, 0)
    }

    /// `if dst OP imm goto +off` (imm is sign-extended to 64 bits)
    fn jump_imm(operation: u8, dst: u8, imm: i32) -> Insn {
        Insn::new(op::JMP | operation | op::K, dst, 0, 0, imm)
    }

    /// `if dst OP src goto +off`
    fn jump_reg(operation: u8, dst: u8, src: u8) -> Insn {
        Insn::new(op::JMP | operation | op::X, dst, src, 0, 0)
    }

    fn exit() -> Insn {
        Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0)
    }

    fn is_jump(self) -> bool {
        self.code & 0x07 == op::JMP && self.code & 0xf0 != op::EXIT
    }
}

/// The program that enforces `policy`.
pub(crate) fn program(policy: &DevicePolicy) -> Vec<Insn> {
    let mut insns = vec![
        Insn::load_word(R2, R1, 0),
        Insn::alu32(op::AND, R2, 0xffff), // R2 = type
        Insn::load_word(R3, R1, 0),
        Insn::alu32(op::RSH, R3, 16), // R3 = access asked for
        Insn::load_word(R4, R1, 4),   // R4 = major
        Insn::load_word(R5, R1, 8),   // R5 = minor
    ];
    for (pattern, rights) in policy.exceptions() {
        insns.extend(exception(pattern, rights, policy.default_allow()));
    }
    insns.extend(verdict(policy.default_allow()));
    insns
}

/// The block for one exception: compares that skip the block on a mismatch, then the verdict
/// that goes against the default.
fn exception(pattern: &Pattern, rights: Access, default_allow: bool) -> Vec<Insn> {
    let kind = match pattern.kind {
        DeviceKind::Block => DEV_BLOCK,
        DeviceKind::Char => DEV_CHAR,
        DeviceKind::All => unreachable!("a policy keeps no exception of type a"),
    };
    let mut block = vec![Insn::jump_imm(op::JNE, R2, kind as i32)];
    let rights = i32::from(rights.bits());
    if default_allow {
        // A deny exception refuses as soon as it names one of the rights asked for (an open
        // for reading and writing is refused when writing is).
        block.extend([
            Insn::mov32_reg(R1, R3),
            Insn::alu32(op::AND, R1, rights),
            Insn::jump_imm(op::JEQ, R1, 0),
        ]);
    } else if rights != i32::from(Access::ALL.bits()) {
        // An allow exception must grant every right asked for.
        block.extend([
            Insn::mov32_reg(R1, R3),
            Insn::alu32(op::AND, R1, rights),
            Insn::jump_reg(op::JNE, R1, R3),
        ]);
    }
    for (register, number) in [(R4, pattern.major), (R5, pattern.minor)] {
        if let Some(number) = number {
            block.extend(differs(register, number));
        }
    }
    block.extend(verdict(!default_allow));
    // Every jump so far leaves the block: to the instruction after its last one.
    let len = block.len();
    for (i, insn) in block.iter_mut().enumerate() {
        if insn.is_jump() {
            insn.off = i16::try_from(len - i - 1).expect("a block is a few instructions");
        }
    }
    block
}

/// "Jump if `register` (a zero-extended u32) is not `number`". An immediate is sign-extended,
/// so a number above `i32::MAX` goes through R1, where a 32-bit move leaves it unsigned.
fn differs(register: u8, number: u32) -> Vec<Insn> {
    match i32::try_from(number) {
        Ok(imm) => vec![Insn::jump_imm(op::JNE, register, imm)],
        Err(_) => vec![
            Insn::alu32(op::MOV, R1, number as i32),
            Insn::jump_reg(op::JNE, register, R1),
        ],
    }
}

fn verdict(allow: bool) -> [Insn; 2] {
    [Insn::alu32(op::MOV, R0, i32::from(allow)), Insn::exit()]
}

#[cfg(test)]
mod tests;
