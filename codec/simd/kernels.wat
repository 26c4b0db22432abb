;; WebAssembly SIMD128 kernels of the tensor codecs (docs/codecs.md, "SIMD kernels").
;; Assembled by codec/simd/generate.ts (`npm run gen:wasm`) into kernels-wasm.ts; loaded by
;; codec/simd/kernels.ts, which copies each chunk of a tensor into this memory, calls a kernel and
;; copies the result out. Every kernel gives bit for bit what the JavaScript kernels in
;; codec/fp16.ts and codec/quantize.ts give (test/unit/codec/simd.test.ts compares them).
;;
;; Pointers are byte offsets chosen by the caller. Kernels that process whole vectors past the end
;; of their range (the fp16 ones, quantize and dequantize) read and write up to 64 bytes beyond it:
;; the caller leaves that much slack after every region. Nothing here traps on any bit pattern.
(module
  ;; Fixed size (the caller works in chunks): views of it never detach, since it never grows.
  (memory (export "memory") 4 4)

  ;; float32 -> binary16 bits, round to nearest even, n elements (rounded up to a multiple of 16).
  ;; Per lane, as codec/fp16.ts: a = |x| bits, two candidates from a clamped at 2^-14 (bits
  ;; 0x38800000, the smallest normal half), one from above and one from below:
  ;;  - normal: c = max(a, 0x38800000); rebias the exponent, add half an ulp - 1 plus the lowest
  ;;    kept bit, shift ((c - 0x37fff001 + ((c >> 13) & 1)) >> 13; 0x37fff001 = (112 << 23) -
  ;;    0xfff); a carry rounds into the next binade. The result grows with c, and c >= 2^16 (bits
  ;;    0x47800000, the first float that rounds past 65504) gives >= 0x7c00, so min(h, 0x7c00) is
  ;;    the overflow to Infinity, for Infinity itself and NaN too. It is 0x400 for |x| < 2^-14;
  ;;  - subnormal: min(a, 0x38800000) as a float plus 0.5 aligns the half's ulp (2^-24) with the
  ;;    float's last bit, and IEEE addition rounds to nearest even (F. Giesen,
  ;;    "float_to_half_fast3_rtne"): its bits minus those of 0.5 (0x3f000000) are the half, from 0
  ;;    to 0x400 (2^-14, which is what every |x| >= 2^-14 gives);
  ;;  - so normal + subnormal - 0x400 is the half for every |x|, without a select.
  ;;  - NaN (a > 0x7f800000): 0x7c00 | 0x0200, the quiet NaN 0x7e00.
  ;; The signs are ORed into the halves after the narrowing to 16 bits, 8 at a time.
  ;; Everything is written out in full, here and below: V8 in Node 20 does not inline WebAssembly
  ;; calls (with helper functions the int8 quantizer ran 5x slower). Constants sit in locals, set
  ;; once before the loop.
  (func (export "f32_to_f16") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local $x0 v128)
    (local $x1 v128)
    (local $x2 v128)
    (local $x3 v128)
    (local $h0 v128)
    (local $h1 v128)
    (local $h2 v128)
    (local $h3 v128)
    (local $a v128)
    (local $c v128)
    (local $abs v128)
    (local $bias v128)
    (local $one v128)
    (local $inf v128)
    (local $half v128)
    (local $join v128)
    (local $min_normal v128)
    (local $inf_bits v128)
    (local $quiet v128)
    (local $sign v128)
    (local.set $abs (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (local.set $bias (v128.const i32x4 0x37fff001 0x37fff001 0x37fff001 0x37fff001))
    (local.set $one (v128.const i32x4 1 1 1 1))
    (local.set $inf (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00))
    (local.set $half (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $join (v128.const i32x4 0x3f000400 0x3f000400 0x3f000400 0x3f000400))
    (local.set $min_normal (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
    (local.set $inf_bits (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $quiet (v128.const i32x4 0x0200 0x0200 0x0200 0x0200))
    (local.set $sign (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $x0 (v128.load (local.get $src)))
        (local.set $a (v128.and (local.get $x0) (local.get $abs)))
        (local.set $c (i32x4.max_u (local.get $a) (local.get $min_normal)))
        (local.set $h0
          (i32x4.sub
            (i32x4.add
              (i32x4.min_u
                (i32x4.shr_u
                  (i32x4.add
                    (i32x4.sub (local.get $c) (local.get $bias))
                    (v128.and (i32x4.shr_u (local.get $c) (i32.const 13)) (local.get $one)))
                  (i32.const 13))
                (local.get $inf))
              (f32x4.add (i32x4.min_u (local.get $a) (local.get $min_normal)) (local.get $half)))
            (local.get $join)))
        (local.set $h0
          (v128.or (local.get $h0) (v128.and (i32x4.gt_s (local.get $a) (local.get $inf_bits)) (local.get $quiet))))
        (local.set $x1 (v128.load offset=16 (local.get $src)))
        (local.set $a (v128.and (local.get $x1) (local.get $abs)))
        (local.set $c (i32x4.max_u (local.get $a) (local.get $min_normal)))
        (local.set $h1
          (i32x4.sub
            (i32x4.add
              (i32x4.min_u
                (i32x4.shr_u
                  (i32x4.add
                    (i32x4.sub (local.get $c) (local.get $bias))
                    (v128.and (i32x4.shr_u (local.get $c) (i32.const 13)) (local.get $one)))
                  (i32.const 13))
                (local.get $inf))
              (f32x4.add (i32x4.min_u (local.get $a) (local.get $min_normal)) (local.get $half)))
            (local.get $join)))
        (local.set $h1
          (v128.or (local.get $h1) (v128.and (i32x4.gt_s (local.get $a) (local.get $inf_bits)) (local.get $quiet))))
        (v128.store (local.get $dst)
          (v128.or
            (i16x8.narrow_i32x4_u (local.get $h0) (local.get $h1))
            (v128.and
              (i8x16.shuffle 2 3 6 7 10 11 14 15 18 19 22 23 26 27 30 31 (local.get $x0) (local.get $x1))
              (local.get $sign))))
        (local.set $x2 (v128.load offset=32 (local.get $src)))
        (local.set $a (v128.and (local.get $x2) (local.get $abs)))
        (local.set $c (i32x4.max_u (local.get $a) (local.get $min_normal)))
        (local.set $h2
          (i32x4.sub
            (i32x4.add
              (i32x4.min_u
                (i32x4.shr_u
                  (i32x4.add
                    (i32x4.sub (local.get $c) (local.get $bias))
                    (v128.and (i32x4.shr_u (local.get $c) (i32.const 13)) (local.get $one)))
                  (i32.const 13))
                (local.get $inf))
              (f32x4.add (i32x4.min_u (local.get $a) (local.get $min_normal)) (local.get $half)))
            (local.get $join)))
        (local.set $h2
          (v128.or (local.get $h2) (v128.and (i32x4.gt_s (local.get $a) (local.get $inf_bits)) (local.get $quiet))))
        (local.set $x3 (v128.load offset=48 (local.get $src)))
        (local.set $a (v128.and (local.get $x3) (local.get $abs)))
        (local.set $c (i32x4.max_u (local.get $a) (local.get $min_normal)))
        (local.set $h3
          (i32x4.sub
            (i32x4.add
              (i32x4.min_u
                (i32x4.shr_u
                  (i32x4.add
                    (i32x4.sub (local.get $c) (local.get $bias))
                    (v128.and (i32x4.shr_u (local.get $c) (i32.const 13)) (local.get $one)))
                  (i32.const 13))
                (local.get $inf))
              (f32x4.add (i32x4.min_u (local.get $a) (local.get $min_normal)) (local.get $half)))
            (local.get $join)))
        (local.set $h3
          (v128.or (local.get $h3) (v128.and (i32x4.gt_s (local.get $a) (local.get $inf_bits)) (local.get $quiet))))
        (v128.store offset=16 (local.get $dst)
          (v128.or
            (i16x8.narrow_i32x4_u (local.get $h2) (local.get $h3))
            (v128.and
              (i8x16.shuffle 2 3 6 7 10 11 14 15 18 19 22 23 26 27 30 31 (local.get $x2) (local.get $x3))
              (local.get $sign))))
        (local.set $src (i32.add (local.get $src) (i32.const 64)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $next))))

  ;; binary16 bits -> float32, n elements (rounded up to a multiple of 8). Per lane, with the half
  ;; sign-extended to 32 bits: o = (h << 17) >> 4 (unsigned) puts exponent and mantissa into the
  ;; float's fields, unbiased; o as a float times 2^112 is then the half's value, exactly, for
  ;; normal halves (the exponent rebiased by 127 - 15) and for zeros and subnormals alike (a
  ;; subnormal float: mantissa * 2^-136 * 2^112 = mantissa * 2^-24); exponent 31 (Infinity, NaN
  ;; with its payload kept) is o | 0x70000000, by integer arithmetic, so no NaN goes through the
  ;; multiplier (which could quiet a signalling one). The sign, bit 31 of the sign-extended half,
  ;; is ORed in last.
  (func (export "f16_to_f32") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local $h v128)
    (local $x v128)
    (local $o v128)
    (local $exp_fill v128)
    (local $scale v128)
    (local $max_finite v128)
    (local $sign v128)
    (local.set $exp_fill (v128.const i32x4 0x70000000 0x70000000 0x70000000 0x70000000))
    (local.set $scale (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
    (local.set $max_finite (v128.const i32x4 0x0f7fffff 0x0f7fffff 0x0f7fffff 0x0f7fffff))
    (local.set $sign (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $h (v128.load (local.get $src)))
        (local.set $x (i32x4.extend_low_i16x8_s (local.get $h)))
        (local.set $o (i32x4.shr_u (i32x4.shl (local.get $x) (i32.const 17)) (i32.const 4)))
        (v128.store (local.get $dst)
          (v128.or
            (v128.bitselect
              (v128.or (local.get $o) (local.get $exp_fill))
              (f32x4.mul (local.get $o) (local.get $scale))
              (i32x4.gt_s (local.get $o) (local.get $max_finite)))
            (v128.and (local.get $x) (local.get $sign))))
        (local.set $x (i32x4.extend_high_i16x8_s (local.get $h)))
        (local.set $o (i32x4.shr_u (i32x4.shl (local.get $x) (i32.const 17)) (i32.const 4)))
        (v128.store offset=16 (local.get $dst)
          (v128.or
            (v128.bitselect
              (v128.or (local.get $o) (local.get $exp_fill))
              (f32x4.mul (local.get $o) (local.get $scale))
              (i32x4.gt_s (local.get $o) (local.get $max_finite)))
            (v128.and (local.get $x) (local.get $sign))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $next))))

  ;; Per block, the largest |x| as bits: $blocks blocks of $len float32 from $src, one i32 per block
  ;; to $out. For |x| bits (sign cleared) integer order is float order, and Infinity and NaN have
  ;; the largest patterns (>= 0x7f800000), so the result read as a float is max |x| when all are
  ;; finite and Infinity or NaN otherwise: one integer max per element finds both (as Math.max
  ;; does in codec/quantize.ts). Exact ranges: no reads past a block.
  (func (export "absmax_blocks") (param $src i32) (param $len i32) (param $blocks i32) (param $out i32)
    (local $end i32)
    (local $last i32)
    (local $m0 v128)
    (local $m1 v128)
    (local $m2 v128)
    (local $m3 v128)
    (local $m i32)
    (local $v i32)
    (local $abs v128)
    (local.set $abs (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (block $blocks_done
      (loop $block
        (br_if $blocks_done (i32.eqz (local.get $blocks)))
        (local.set $end (i32.add (local.get $src) (i32.shl (local.get $len) (i32.const 2))))
        (local.set $m0 (v128.const i32x4 0 0 0 0))
        (local.set $m1 (v128.const i32x4 0 0 0 0))
        (local.set $m2 (v128.const i32x4 0 0 0 0))
        (local.set $m3 (v128.const i32x4 0 0 0 0))
        ;; 16 at a time, four accumulators (independent dependency chains).
        (local.set $last (i32.sub (local.get $end) (i32.const 64)))
        (block $wide_done
          (loop $wide
            (br_if $wide_done (i32.gt_s (local.get $src) (local.get $last)))
            (local.set $m0 (i32x4.max_s (local.get $m0) (v128.and (local.get $abs) (v128.load (local.get $src)))))
            (local.set $m1 (i32x4.max_s (local.get $m1) (v128.and (local.get $abs) (v128.load offset=16 (local.get $src)))))
            (local.set $m2 (i32x4.max_s (local.get $m2) (v128.and (local.get $abs) (v128.load offset=32 (local.get $src)))))
            (local.set $m3 (i32x4.max_s (local.get $m3) (v128.and (local.get $abs) (v128.load offset=48 (local.get $src)))))
            (local.set $src (i32.add (local.get $src) (i32.const 64)))
            (br $wide)))
        (local.set $m0 (i32x4.max_s (i32x4.max_s (local.get $m0) (local.get $m1)) (i32x4.max_s (local.get $m2) (local.get $m3))))
        (local.set $last (i32.sub (local.get $end) (i32.const 16)))
        (block $narrow_done
          (loop $narrow
            (br_if $narrow_done (i32.gt_s (local.get $src) (local.get $last)))
            (local.set $m0 (i32x4.max_s (local.get $m0) (v128.and (local.get $abs) (v128.load (local.get $src)))))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (br $narrow)))
        (local.set $m0 (i32x4.max_s (local.get $m0) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $m0) (local.get $m0))))
        (local.set $m0 (i32x4.max_s (local.get $m0) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $m0) (local.get $m0))))
        (local.set $m (i32x4.extract_lane 0 (local.get $m0)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $src) (local.get $end)))
            (local.set $v (i32.and (i32.load (local.get $src)) (i32.const 0x7fffffff)))
            (local.set $m (select (local.get $v) (local.get $m) (i32.gt_s (local.get $v) (local.get $m))))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br $tail)))
        (i32.store (local.get $out) (local.get $m))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
        (br $block))))

  ;; Symmetric int8: q = round(x * inv) for $blocks blocks of $len float32 from $src to int8 at
  ;; $dst. Block b's parameters at $params + 16 b: f64 inv, i32 clamp (0 or 1). As in
  ;; codec/quantize.ts, the product is a float64 (float32 x, float64 inv) rounded to an integer,
  ;; ties to even, by adding 1.5 * 2^52 (the same two IEEE operations, so the same results; float32
  ;; arithmetic would round x * inv a second time and move some ties). The subtraction is left
  ;; out: the low 32 bits of (v + 1.5 * 2^52) are round(v) in two's complement for |v| < 2^31, so
  ;; a shuffle gathers them and two narrows make the int8. clamp = 1 (a subnormal scale, where
  ;; |x * inv| may pass 127) clamps v to [-127, 127] first, which rounds the same as clamping the
  ;; rounded value. Whole vectors of 16: a block's overrun is overwritten by the next block, the
  ;; last one's falls in the slack.
  (func (export "quantize_i8_blocks") (param $src i32) (param $dst i32) (param $len i32) (param $blocks i32) (param $params i32)
    (local $end i32)
    (local $inv v128)
    (local $magic v128)
    (local $lo v128)
    (local $hi v128)
    (local $w0 v128)
    (local $w1 v128)
    (local $w2 v128)
    (local $w3 v128)
    (local.set $magic (v128.const f64x2 0x1.8p52 0x1.8p52))
    (local.set $lo (v128.const f64x2 -127 -127))
    (local.set $hi (v128.const f64x2 127 127))
    (block $blocks_done
      (loop $block
        (br_if $blocks_done (i32.eqz (local.get $blocks)))
        (local.set $end (i32.add (local.get $src) (i32.shl (local.get $len) (i32.const 2))))
        (local.set $inv (f64x2.splat (f64.load (local.get $params))))
        (if (i32.load offset=8 (local.get $params))
          (then
            (block $done
              (loop $next
                (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
                (local.set $w0
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))))
                (local.set $w1
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))))
                (local.set $w2
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))))
                (local.set $w3
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))
                    (f64x2.add (f64x2.pmin (f64x2.pmax (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $src))) (local.get $inv)) (local.get $lo)) (local.get $hi)) (local.get $magic))))
                (v128.store (local.get $dst)
                  (i8x16.narrow_i16x8_s
                    (i16x8.narrow_i32x4_s (local.get $w0) (local.get $w1))
                    (i16x8.narrow_i32x4_s (local.get $w2) (local.get $w3))))
                (local.set $src (i32.add (local.get $src) (i32.const 64)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (br $next))))
          (else
            (block $done
              (loop $next
                (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
                (local.set $w0
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))) (local.get $inv)) (local.get $magic))
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $src))) (local.get $inv)) (local.get $magic))))
                (local.set $w1
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $src))) (local.get $inv)) (local.get $magic))
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $src))) (local.get $inv)) (local.get $magic))))
                (local.set $w2
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $src))) (local.get $inv)) (local.get $magic))
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $src))) (local.get $inv)) (local.get $magic))))
                (local.set $w3
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $src))) (local.get $inv)) (local.get $magic))
                    (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $src))) (local.get $inv)) (local.get $magic))))
                (v128.store (local.get $dst)
                  (i8x16.narrow_i16x8_s
                    (i16x8.narrow_i32x4_s (local.get $w0) (local.get $w1))
                    (i16x8.narrow_i32x4_s (local.get $w2) (local.get $w3))))
                (local.set $src (i32.add (local.get $src) (i32.const 64)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (br $next)))))
        ;; Back to the exact end of the block (the loops stepped past it by up to 15 elements).
        (local.set $dst (i32.sub (local.get $dst) (i32.shr_s (i32.sub (local.get $src) (local.get $end)) (i32.const 2))))
        (local.set $src (local.get $end))
        (local.set $params (i32.add (local.get $params) (i32.const 16)))
        (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
        (br $block))))

  ;; Symmetric int8 back to float32: x' = q * scale for $blocks blocks of $len int8 from $src to
  ;; float32 at $dst; block b's scale is the f32 at $params + 4 b. q * scale is exact in float64
  ;; (8 + 24 significant bits), so the float32 product equals codec/quantize.ts's float64 product
  ;; rounded to float32; the clamp to +-FLOAT32_MAX matches its finite() (a no-op unless the
  ;; product overflows). Whole vectors of 16, overruns as in quantize_i8_blocks.
  (func (export "dequantize_i8_blocks") (param $src i32) (param $dst i32) (param $len i32) (param $blocks i32) (param $params i32)
    (local $end i32)
    (local $s v128)
    (local $q v128)
    (local $w v128)
    (local $lo v128)
    (local $hi v128)
    (local.set $lo (v128.const f32x4 -0x1.fffffep127 -0x1.fffffep127 -0x1.fffffep127 -0x1.fffffep127))
    (local.set $hi (v128.const f32x4 0x1.fffffep127 0x1.fffffep127 0x1.fffffep127 0x1.fffffep127))
    (block $blocks_done
      (loop $block
        (br_if $blocks_done (i32.eqz (local.get $blocks)))
        (local.set $end (i32.add (local.get $src) (local.get $len)))
        (local.set $s (f32x4.splat (f32.load (local.get $params))))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
            (local.set $q (v128.load (local.get $src)))
            (local.set $w (i16x8.extend_low_i8x16_s (local.get $q)))
            (v128.store (local.get $dst)
              (f32x4.pmin
                (f32x4.pmax (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $s)) (local.get $lo))
                (local.get $hi)))
            (v128.store offset=16 (local.get $dst)
              (f32x4.pmin
                (f32x4.pmax (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $s)) (local.get $lo))
                (local.get $hi)))
            (local.set $w (i16x8.extend_high_i8x16_s (local.get $q)))
            (v128.store offset=32 (local.get $dst)
              (f32x4.pmin
                (f32x4.pmax (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $s)) (local.get $lo))
                (local.get $hi)))
            (v128.store offset=48 (local.get $dst)
              (f32x4.pmin
                (f32x4.pmax (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $s)) (local.get $lo))
                (local.get $hi)))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
            (br $next)))
        (local.set $dst (i32.sub (local.get $dst) (i32.shl (i32.sub (local.get $src) (local.get $end)) (i32.const 2))))
        (local.set $src (local.get $end))
        (local.set $params (i32.add (local.get $params) (i32.const 4)))
        (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
        (br $block))))

  ;; min(x, 0), max(x, 0) and max |x| bits of $n float32 at $src, to $out as f32, f32, i32: the
  ;; parameters of asymmetric uint8 (codec/quantize.ts uint8Params). pmin/pmax may keep +0 where
  ;; Math.min keeps -0, which changes neither the scale nor the zero point; NaN and Infinity are
  ;; found by the bits (>= 0x7f800000), as in absmax_blocks. Exact range: no reads past $n.
  (func (export "minmax_f32") (param $src i32) (param $n i32) (param $out i32)
    (local $end i32)
    (local $last i32)
    (local $x v128)
    (local $min v128)
    (local $max v128)
    (local $bits v128)
    (local $abs v128)
    (local $v f32)
    (local $fmin f32)
    (local $fmax f32)
    (local $m i32)
    (local $b i32)
    (local.set $abs (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $last (i32.sub (local.get $end) (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (local.get $src) (local.get $last)))
        (local.set $x (v128.load (local.get $src)))
        (local.set $min (f32x4.pmin (local.get $min) (local.get $x)))
        (local.set $max (f32x4.pmax (local.get $max) (local.get $x)))
        (local.set $bits (i32x4.max_s (local.get $bits) (v128.and (local.get $x) (local.get $abs))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $next)))
    (local.set $min (f32x4.pmin (local.get $min) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $min) (local.get $min))))
    (local.set $min (f32x4.pmin (local.get $min) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $min) (local.get $min))))
    (local.set $max (f32x4.pmax (local.get $max) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $max) (local.get $max))))
    (local.set $max (f32x4.pmax (local.get $max) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $max) (local.get $max))))
    (local.set $bits (i32x4.max_s (local.get $bits) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bits) (local.get $bits))))
    (local.set $bits (i32x4.max_s (local.get $bits) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $bits) (local.get $bits))))
    (local.set $fmin (f32x4.extract_lane 0 (local.get $min)))
    (local.set $fmax (f32x4.extract_lane 0 (local.get $max)))
    (local.set $m (i32x4.extract_lane 0 (local.get $bits)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $v (f32.load (local.get $src)))
        (local.set $fmin (select (local.get $v) (local.get $fmin) (f32.lt (local.get $v) (local.get $fmin))))
        (local.set $fmax (select (local.get $v) (local.get $fmax) (f32.gt (local.get $v) (local.get $fmax))))
        (local.set $b (i32.and (i32.reinterpret_f32 (local.get $v)) (i32.const 0x7fffffff)))
        (local.set $m (select (local.get $b) (local.get $m) (i32.gt_s (local.get $b) (local.get $m))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $tail)))
    (f32.store (local.get $out) (local.get $fmin))
    (f32.store offset=4 (local.get $out) (local.get $fmax))
    (i32.store offset=8 (local.get $out) (local.get $m)))

  ;; Asymmetric uint8: q = clamp(round(x * inv + zp), 0, 255) for $n float32 from $src to $dst;
  ;; f64 inv at $params, f64 zp at $params + 8, i32 clamp at $params + 16. As codec/quantize.ts
  ;; writeUint8 (a store into a Uint8ClampedArray: clamp, then round half to even) with the same
  ;; float64 operations; the clamp comes first here, which rounds the same since 0 and 255 are
  ;; integers. clamp = 0 (parameters from uint8Params of these values: every x * inv + zp within
  ;; +-2^31, finite) leaves the clamp to the saturating narrows after rounding, which is the same
  ;; again. Rounding and gathering as in quantize_i8_blocks; whole vectors of 16, the overrun falls
  ;; in the slack.
  (func (export "quantize_u8") (param $src i32) (param $dst i32) (param $n i32) (param $params i32)
    (local $end i32)
    (local $inv v128)
    (local $zp v128)
    (local $magic v128)
    (local $lo v128)
    (local $hi v128)
    (local $w0 v128)
    (local $w1 v128)
    (local $w2 v128)
    (local $w3 v128)
    (local.set $magic (v128.const f64x2 0x1.8p52 0x1.8p52))
    (local.set $lo (v128.const f64x2 0 0))
    (local.set $hi (v128.const f64x2 255 255))
    (local.set $inv (f64x2.splat (f64.load (local.get $params))))
    (local.set $zp (f64x2.splat (f64.load offset=8 (local.get $params))))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (if (i32.load offset=16 (local.get $params))
      (then
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
                (local.set $w0
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))))
                (local.set $w1
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))))
                (local.set $w2
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))))
                (local.set $w3
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.pmin
                            (f64x2.pmax
                              (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $src))) (local.get $inv)) (local.get $zp))
                              (local.get $lo))
                            (local.get $hi))
                          (local.get $magic))))
                (v128.store (local.get $dst)
                  (i8x16.narrow_i16x8_u
                    (i16x8.narrow_i32x4_s (local.get $w0) (local.get $w1))
                    (i16x8.narrow_i32x4_s (local.get $w2) (local.get $w3))))
                (local.set $src (i32.add (local.get $src) (i32.const 64)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (br $next))))
      (else
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
                (local.set $w0
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))))
                (local.set $w1
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))))
                (local.set $w2
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))))
                (local.set $w3
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))
                    (f64x2.add
                          (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $src))) (local.get $inv)) (local.get $zp))
                          (local.get $magic))))
                (v128.store (local.get $dst)
                  (i8x16.narrow_i16x8_u
                    (i16x8.narrow_i32x4_s (local.get $w0) (local.get $w1))
                    (i16x8.narrow_i32x4_s (local.get $w2) (local.get $w3))))
                (local.set $src (i32.add (local.get $src) (i32.const 64)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (br $next))))))

  ;; Asymmetric uint8 back to float32: x' = (q - zp) * scale for $n uint8 from $src to $dst; f32
  ;; scale at $params, i32 zp at $params + 4. |q - zp| <= 255 has 8 significant bits, so the
  ;; float32 product is codec/quantize.ts's float64 product rounded to float32; the clamp is its
  ;; finite(), as in dequantize_i8_blocks. Whole vectors of 16, the overrun falls in the slack.
  (func (export "dequantize_u8") (param $src i32) (param $dst i32) (param $n i32) (param $params i32)
    (local $end i32)
    (local $s v128)
    (local $zp v128)
    (local $q v128)
    (local $w v128)
    (local $lo v128)
    (local $hi v128)
    (local.set $lo (v128.const f32x4 -0x1.fffffep127 -0x1.fffffep127 -0x1.fffffep127 -0x1.fffffep127))
    (local.set $hi (v128.const f32x4 0x1.fffffep127 0x1.fffffep127 0x1.fffffep127 0x1.fffffep127))
    (local.set $s (f32x4.splat (f32.load (local.get $params))))
    (local.set $zp (i32x4.splat (i32.load offset=4 (local.get $params))))
    (local.set $end (i32.add (local.get $src) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $q (v128.load (local.get $src)))
        (local.set $w (i16x8.extend_low_i8x16_u (local.get $q)))
        (v128.store (local.get $dst)
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.mul (f32x4.convert_i32x4_s (i32x4.sub (i32x4.extend_low_i16x8_u (local.get $w)) (local.get $zp))) (local.get $s))
              (local.get $lo))
            (local.get $hi)))
        (v128.store offset=16 (local.get $dst)
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.mul (f32x4.convert_i32x4_s (i32x4.sub (i32x4.extend_high_i16x8_u (local.get $w)) (local.get $zp))) (local.get $s))
              (local.get $lo))
            (local.get $hi)))
        (local.set $w (i16x8.extend_high_i8x16_u (local.get $q)))
        (v128.store offset=32 (local.get $dst)
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.mul (f32x4.convert_i32x4_s (i32x4.sub (i32x4.extend_low_i16x8_u (local.get $w)) (local.get $zp))) (local.get $s))
              (local.get $lo))
            (local.get $hi)))
        (v128.store offset=48 (local.get $dst)
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.mul (f32x4.convert_i32x4_s (i32x4.sub (i32x4.extend_high_i16x8_u (local.get $w)) (local.get $zp))) (local.get $s))
              (local.get $lo))
            (local.get $hi)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
        (br $next))))
)
