/* CONV_2D: per-pixel dot products against (interleaved) filters, with the DSP
 * extension's pair path (see ts_kernels.h). */
#include "ts_kernels_internal.h"

/* Blocks of four outputs against interleaved filters: for each 4-byte chunk of an input run a
 * block holds 16 weight bytes (filter 0's chunk, then filters 1, 2, 3), then the run's last
 * run % 4 bytes of filters 0, 1, 2 and 3. One pointer walks the weights and the four sums stay
 * in registers. The window is `rows` runs of `run` bytes, `row_step` apart. Returns the
 * weights pointer after the last block; fills `acc` with 4 * blocks sums (bias included). */
const int8_t *ts_blocks4_interleaved(const int8_t *px, int32_t row_step, int32_t rows,
                                     int32_t run, const int8_t *w, const int32_t *bias,
                                     int32_t blocks, int32_t *acc)
{
    const int32_t body = run & ~3;
    const int32_t tail = run & 3;
    int32_t b, r, i;
    for (b = 0; b < blocks; ++b) {
        int32_t a0 = bias[4 * b], a1 = bias[4 * b + 1];
        int32_t a2 = bias[4 * b + 2], a3 = bias[4 * b + 3];
        const int8_t *row = px;
        for (r = 0; r < rows; ++r, row += row_step) {
            const int8_t *x = row;
            const int8_t *end = row + body;
            while (x < end) {
#if TS_DSP
                const uint32_t xv = ts_load4(x);
                const uint32_t x02 = ts_sxtb16(xv);
                const uint32_t x13 = ts_sxtb16_ror8(xv);
                uint32_t wv = ts_load4(w);
                a0 = ts_smlad(x02, ts_sxtb16(wv), a0);
                a0 = ts_smlad(x13, ts_sxtb16_ror8(wv), a0);
                wv = ts_load4(w + 4);
                a1 = ts_smlad(x02, ts_sxtb16(wv), a1);
                a1 = ts_smlad(x13, ts_sxtb16_ror8(wv), a1);
                wv = ts_load4(w + 8);
                a2 = ts_smlad(x02, ts_sxtb16(wv), a2);
                a2 = ts_smlad(x13, ts_sxtb16_ror8(wv), a2);
                wv = ts_load4(w + 12);
                a3 = ts_smlad(x02, ts_sxtb16(wv), a3);
                a3 = ts_smlad(x13, ts_sxtb16_ror8(wv), a3);
#else
                const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
                a0 += x0 * w[0] + x1 * w[1] + x2 * w[2] + x3 * w[3];
                a1 += x0 * w[4] + x1 * w[5] + x2 * w[6] + x3 * w[7];
                a2 += x0 * w[8] + x1 * w[9] + x2 * w[10] + x3 * w[11];
                a3 += x0 * w[12] + x1 * w[13] + x2 * w[14] + x3 * w[15];
#endif
                x += 4;
                w += 16;
            }
            for (i = 0; i < tail; ++i) {
                const int32_t xi = x[i];
                a0 += xi * w[i];
                a1 += xi * w[tail + i];
                a2 += xi * w[2 * tail + i];
                a3 += xi * w[3 * tail + i];
            }
            w += 4 * tail;
        }
        acc[4 * b] = a0;
        acc[4 * b + 1] = a1;
        acc[4 * b + 2] = a2;
        acc[4 * b + 3] = a3;
    }
    return w;
}

/* Every output channel of one output pixel whose window is one contiguous run of `run` bytes
 * against interleaved filters (pointwise convolutions, gathered windows): blocks of four
 * outputs with their sums in registers and the requantization fused, one call per pixel.
 * Output channels beyond the last multiple of four are left to the caller. */
static TS_NOINLINE void ts_conv_pixel_run(const int8_t *px, int32_t run, const int8_t *w,
                                          const int32_t *bias_full, const int32_t *multiplier,
                                          const int32_t *shift, int32_t out_c,
                                          int32_t output_offset, int32_t act_min,
                                          int32_t act_max, int8_t *output)
{
    const int32_t body = run & ~3;
    const int32_t tail = run & 3;
    const int8_t *end = px + body;
    int32_t oc, i;
    for (oc = 0; oc + 4 <= out_c; oc += 4) {
        int32_t a0 = bias_full[oc], a1 = bias_full[oc + 1];
        int32_t a2 = bias_full[oc + 2], a3 = bias_full[oc + 3];
        const int8_t *x = px;
        while (x < end) {
#if TS_DSP
            const uint32_t xv = ts_load4(x);
            const uint32_t x02 = ts_sxtb16(xv);
            const uint32_t x13 = ts_sxtb16_ror8(xv);
            uint32_t wv = ts_load4(w);
            a0 = ts_smlad(x02, ts_sxtb16(wv), a0);
            a0 = ts_smlad(x13, ts_sxtb16_ror8(wv), a0);
            wv = ts_load4(w + 4);
            a1 = ts_smlad(x02, ts_sxtb16(wv), a1);
            a1 = ts_smlad(x13, ts_sxtb16_ror8(wv), a1);
            wv = ts_load4(w + 8);
            a2 = ts_smlad(x02, ts_sxtb16(wv), a2);
            a2 = ts_smlad(x13, ts_sxtb16_ror8(wv), a2);
            wv = ts_load4(w + 12);
            a3 = ts_smlad(x02, ts_sxtb16(wv), a3);
            a3 = ts_smlad(x13, ts_sxtb16_ror8(wv), a3);
#else
            const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
            a0 += x0 * w[0] + x1 * w[1] + x2 * w[2] + x3 * w[3];
            a1 += x0 * w[4] + x1 * w[5] + x2 * w[6] + x3 * w[7];
            a2 += x0 * w[8] + x1 * w[9] + x2 * w[10] + x3 * w[11];
            a3 += x0 * w[12] + x1 * w[13] + x2 * w[14] + x3 * w[15];
#endif
            x += 4;
            w += 16;
        }
        for (i = 0; i < tail; ++i) {
            const int32_t xi = x[i];
            a0 += xi * w[i];
            a1 += xi * w[tail + i];
            a2 += xi * w[2 * tail + i];
            a3 += xi * w[3 * tail + i];
        }
        w += 4 * tail;
        output[oc] =
            ts_output_s8(a0, multiplier[oc], shift[oc], output_offset, act_min, act_max);
        output[oc + 1] =
            ts_output_s8(a1, multiplier[oc + 1], shift[oc + 1], output_offset, act_min, act_max);
        output[oc + 2] =
            ts_output_s8(a2, multiplier[oc + 2], shift[oc + 2], output_offset, act_min, act_max);
        output[oc + 3] =
            ts_output_s8(a3, multiplier[oc + 3], shift[oc + 3], output_offset, act_min, act_max);
    }
}

#if TS_DSP
/* Every output channel of two output pixels whose windows are contiguous runs of `run` bytes
 * (pa, pb) against interleaved filters, as ts_conv_pixel_run. Both pixels' inputs are widened
 * to 16-bit pairs once, then each pass takes two filters against both pixels: every weight
 * word loaded and widened serves two pixels, every input word four multiply-accumulates. */
static TS_NOINLINE void ts_conv_pixel_pair(const int8_t *pa, const int8_t *pb, int32_t run,
                                           const int8_t *w, const int32_t *bias_full,
                                           const int32_t *multiplier, const int32_t *shift,
                                           int32_t out_c, int32_t output_offset,
                                           int32_t act_min, int32_t act_max, int8_t *out_a,
                                           int8_t *out_b)
{
    uint32_t wide[TS_CONV_PAIR_RUN];
    const int32_t chunks = run >> 2;
    const int32_t body = run & ~3;
    const int32_t tail = run & 3;
    int32_t oc, half, c, i;
    for (c = 0; c < chunks; ++c) {
        const uint32_t xa = ts_load4(pa + 4 * c);
        const uint32_t xb = ts_load4(pb + 4 * c);
        wide[4 * c] = ts_sxtb16(xa);
        wide[4 * c + 1] = ts_sxtb16_ror8(xa);
        wide[4 * c + 2] = ts_sxtb16(xb);
        wide[4 * c + 3] = ts_sxtb16_ror8(xb);
    }
    for (oc = 0; oc + 4 <= out_c; oc += 4) {
        for (half = 0; half < 4; half += 2) {
            const int32_t o = oc + half;
            int32_t a0 = bias_full[o], b0 = a0;
            int32_t a1 = bias_full[o + 1], b1 = a1;
            const uint32_t *x = wide;
            const uint32_t *x_end = wide + 4 * chunks;
            const int8_t *wp = w + 4 * half;
            while (x < x_end) {
                const uint32_t xa02 = x[0], xa13 = x[1], xb02 = x[2], xb13 = x[3];
                uint32_t wv = ts_load4(wp);
                uint32_t w02 = ts_sxtb16(wv), w13 = ts_sxtb16_ror8(wv);
                a0 = ts_smlad(xa02, w02, a0);
                a0 = ts_smlad(xa13, w13, a0);
                b0 = ts_smlad(xb02, w02, b0);
                b0 = ts_smlad(xb13, w13, b0);
                wv = ts_load4(wp + 4);
                w02 = ts_sxtb16(wv);
                w13 = ts_sxtb16_ror8(wv);
                a1 = ts_smlad(xa02, w02, a1);
                a1 = ts_smlad(xa13, w13, a1);
                b1 = ts_smlad(xb02, w02, b1);
                b1 = ts_smlad(xb13, w13, b1);
                x += 4;
                wp += 16;
            }
            /* The run's last run % 4 bytes: filter j's at w + 4 * body + j * tail. */
            for (i = 0; i < tail; ++i) {
                const int8_t *wt = w + 4 * body + i;
                const int32_t xa = pa[body + i], xb = pb[body + i];
                a0 += xa * wt[half * tail];
                b0 += xb * wt[half * tail];
                a1 += xa * wt[(half + 1) * tail];
                b1 += xb * wt[(half + 1) * tail];
            }
            out_a[o] = ts_output_s8(a0, multiplier[o], shift[o], output_offset, act_min, act_max);
            out_b[o] = ts_output_s8(b0, multiplier[o], shift[o], output_offset, act_min, act_max);
            out_a[o + 1] = ts_output_s8(a1, multiplier[o + 1], shift[o + 1], output_offset,
                                        act_min, act_max);
            out_b[o + 1] = ts_output_s8(b1, multiplier[o + 1], shift[o + 1], output_offset,
                                        act_min, act_max);
        }
        w += 4 * run;
    }
    /* The last out_c % 4 filters are stored plainly, one run each. */
    for (; oc < out_c; ++oc, w += run) {
        out_a[oc] = ts_output_s8(ts_dot_s8(pa, w, run, bias_full[oc]), multiplier[oc], shift[oc],
                                 output_offset, act_min, act_max);
        out_b[oc] = ts_output_s8(ts_dot_s8(pb, w, run, bias_full[oc]), multiplier[oc], shift[oc],
                                 output_offset, act_min, act_max);
    }
}
#endif

/* Every output channel of one output pixel whose window is `rows` runs of `run` contiguous
 * input bytes, `row_step` apart (the filter rows are contiguous): four channels at a time. */
static void ts_conv_pixel(const ts_conv_params *p, const int8_t *px, int32_t row_step,
                          int32_t rows, int32_t run, const int8_t *filter,
                          const int32_t *bias_full, const int32_t *multiplier,
                          const int32_t *shift, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t out_c = p->out_c;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t interleaved = p->interleaved;
    const int32_t stride = rows * run;
    int32_t oc = 0, r, i;
    if (interleaved && rows == 1) {
        ts_conv_pixel_run(px, run, filter, bias_full, multiplier, shift, out_c, output_offset,
                          act_min, act_max, output);
        oc = out_c & ~3;
    }
    for (; oc + 4 <= out_c; oc += 4) {
        const int8_t *f = filter + (size_t)oc * stride;
        const int8_t *x = px;
        int32_t acc[4];
        for (i = 0; i < 4; ++i) {
            acc[i] = bias_full[oc + i];
        }
        if (interleaved) {
            ts_blocks4_interleaved(x, row_step, rows, run, f, bias_full + oc, 1, acc);
        } else {
            for (r = 0; r < rows; ++r) {
                ts_dot4_s8(x, f, stride, run, acc);
                x += row_step;
                f += run;
            }
        }
        for (i = 0; i < 4; ++i) {
            const int32_t v = ts_mbqm(acc[i], multiplier[oc + i], shift[oc + i]) + output_offset;
            output[oc + i] = ts_clamp_s8(v, act_min, act_max);
        }
    }
    for (; oc < out_c; ++oc) {
        const int8_t *f = filter + (size_t)oc * stride;
        const int8_t *x = px;
        int32_t acc = bias_full[oc];
        for (r = 0; r < rows; ++r) {
            acc = ts_dot_s8(x, f, run, acc);
            x += row_step;
            f += run;
        }
        acc = ts_mbqm(acc, multiplier[oc], shift[oc]) + output_offset;
        output[oc] = ts_clamp_s8(acc, act_min, act_max);
    }
}

void ts_conv2d_s8(const ts_conv_params *p, const int8_t *input, const int8_t *filter,
                  const int32_t *bias_full, const int32_t *multiplier, const int32_t *shift,
                  int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t in_c = p->in_c;
    const int32_t out_c = p->out_c;
    const int32_t input_offset = p->input_offset;
    const int32_t batches = p->batches;
    const int32_t in_h = p->in_h;
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t k_h = p->k_h;
    const int32_t k_w = p->k_w;
    const int32_t stride_h = p->stride_h;
    const int32_t stride_w = p->stride_w;
    const int32_t dil_h = p->dil_h;
    const int32_t dil_w = p->dil_w;
    const int32_t pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int32_t groups = p->groups;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t gather = p->gather;
    const int32_t filter_depth = in_c / groups;
    const int32_t filters_per_group = out_c / groups;
    const int32_t filter_ch_stride = k_h * k_w * filter_depth;
    const int32_t in_row = in_w * in_c;
    const int contiguous_rows = groups == 1 && dil_w == 1;
    /* The compiler gathers small windows with short rows (per-row dot products would cost
     * more than the copy); see ts_conv_params. */
    const int use_gather = gather && k_h * k_w * in_c <= TS_CONV_GATHER_BYTES;
    const int32_t run = k_w * in_c;
    const int32_t row_step = dil_h * in_row;
    int32_t b, oy, ox, oc, fy, fx, ic;
    for (b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_row;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_top;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                /* The whole window is inside when its first and last taps are. */
                const int inside = iy0 >= 0 && ix0 >= 0 &&
                                   iy0 + (k_h - 1) * dil_h < in_h &&
                                   ix0 + (k_w - 1) * dil_w < in_w;
                if (use_gather) {
                    /* Copy the window (zero point where it leaves the image: bias_full already
                     * holds input_offset * f for every tap) into one contiguous run, then one
                     * dot product per output channel pair. */
                    int8_t window[TS_CONV_GATHER_BYTES];
#if TS_DSP
                    /* Two neighbouring windows at once when the pair path takes them. */
                    if (p->interleaved && filter_ch_stride <= TS_CONV_PAIR_RUN &&
                        ox + 1 < out_w) {
                        int8_t window_b[TS_CONV_GATHER_BYTES];
                        ts_gather_window(in_batch, iy0, ix0, k_h, k_w, dil_h, dil_w, in_h, in_w,
                                         in_c, (int8_t)(-input_offset), window);
                        ts_gather_window(in_batch, iy0, ix0 + stride_w, k_h, k_w, dil_h, dil_w,
                                         in_h, in_w, in_c, (int8_t)(-input_offset), window_b);
                        ts_conv_pixel_pair(window, window_b, filter_ch_stride, filter,
                                           bias_full, multiplier, shift, out_c, output_offset,
                                           act_min, act_max, output, output + out_c);
                        output += 2 * out_c;
                        ++ox;
                        continue;
                    }
#endif
                    ts_gather_window(in_batch, iy0, ix0, k_h, k_w, dil_h, dil_w, in_h, in_w, in_c,
                                     (int8_t)(-input_offset), window);
                    ts_conv_pixel(p, window, 0, 1, filter_ch_stride, filter, bias_full,
                                  multiplier, shift, output);
                    output += out_c;
                    continue;
                }
#if TS_DSP
                /* Single-row windows (pointwise convolutions): two neighbouring pixels per
                 * call when both windows are inside. */
                if (inside && contiguous_rows && k_h == 1 && p->interleaved &&
                    run <= TS_CONV_PAIR_RUN && ox + 1 < out_w &&
                    ix0 + stride_w + (k_w - 1) < in_w) {
                    const int8_t *pa = in_batch + (size_t)iy0 * in_row + (size_t)ix0 * in_c;
                    ts_conv_pixel_pair(pa, pa + (size_t)stride_w * in_c, run, filter, bias_full,
                                       multiplier, shift, out_c, output_offset, act_min,
                                       act_max, output, output + out_c);
                    output += 2 * out_c;
                    ++ox;
                    continue;
                }
#endif
                if (inside && contiguous_rows) {
                    /* Each filter row meets k_w * in_c contiguous input bytes. */
                    ts_conv_pixel(p, in_batch + (size_t)iy0 * in_row + (size_t)ix0 * in_c,
                                  row_step, k_h, run, filter, bias_full, multiplier, shift,
                                  output);
                    output += out_c;
                    continue;
                }
                if (contiguous_rows) {
                    /* Window partly outside: clip the columns once, then per filter row one
                     * dot product over the inside run; the outside taps read the zero point,
                     * which bias_full counted as input_offset * f, so take that back out. */
                    const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                    const int32_t fx1 = k_w < in_w - ix0 ? k_w : in_w - ix0;
                    const int32_t lead = fx0 * in_c;
                    const int32_t inside_run = fx1 > fx0 ? (fx1 - fx0) * in_c : 0;
                    const int32_t tail = run - lead - inside_run;
                    for (oc = 0; oc < out_c; ++oc) {
                        const int8_t *f = filter + (size_t)oc * filter_ch_stride;
                        int32_t acc = bias_full[oc];
                        int32_t outside = 0;
                        for (fy = 0; fy < k_h; ++fy, f += run) {
                            const int32_t iy = iy0 + fy * dil_h;
                            if (iy < 0 || iy >= in_h || inside_run == 0) {
                                outside += ts_sum_s8(f, run);
                                continue;
                            }
                            acc = ts_dot_s8(in_batch + (size_t)iy * in_row +
                                                (size_t)(ix0 + fx0) * in_c,
                                            f + lead, inside_run, acc);
                            outside += ts_sum_s8(f, lead) + ts_sum_s8(f + lead + inside_run, tail);
                        }
                        acc -= outside * input_offset;
                        acc = ts_mbqm(acc, multiplier[oc], shift[oc]) + output_offset;
                        *output++ = ts_clamp_s8(acc, act_min, act_max);
                    }
                    continue;
                }
                for (oc = 0; oc < out_c; ++oc) {
                    const int8_t *f = filter + (size_t)oc * filter_ch_stride;
                    const int32_t group_base = (oc / filters_per_group) * filter_depth;
                    int32_t acc;
                    if (inside) {
                        acc = bias_full[oc];
                        for (fy = 0; fy < k_h; ++fy) {
                            const int8_t *row = in_batch + (size_t)(iy0 + fy * dil_h) * in_row;
                            for (fx = 0; fx < k_w; ++fx) {
                                const int8_t *px =
                                    row + (size_t)(ix0 + fx * dil_w) * in_c + group_base;
                                const int8_t *fp = f + (fy * k_w + fx) * filter_depth;
                                for (ic = 0; ic < filter_depth; ++ic) {
                                    acc += (int32_t)fp[ic] * (int32_t)px[ic];
                                }
                            }
                        }
                    } else {
                        /* Taps outside the image read the zero point: bias_full counted them
                         * as input_offset * f, so take that back out. */
                        acc = bias_full[oc];
                        for (fy = 0; fy < k_h; ++fy) {
                            const int32_t iy = iy0 + fy * dil_h;
                            const int row_inside = iy >= 0 && iy < in_h;
                            for (fx = 0; fx < k_w; ++fx) {
                                const int32_t ix = ix0 + fx * dil_w;
                                const int8_t *fp = f + (fy * k_w + fx) * filter_depth;
                                if (row_inside && ix >= 0 && ix < in_w) {
                                    const int8_t *px = in_batch + (size_t)iy * in_row +
                                                       (size_t)ix * in_c + group_base;
                                    for (ic = 0; ic < filter_depth; ++ic) {
                                        acc += (int32_t)fp[ic] * (int32_t)px[ic];
                                    }
                                } else {
                                    for (ic = 0; ic < filter_depth; ++ic) {
                                        acc -= (int32_t)fp[ic] * input_offset;
                                    }
                                }
                            }
                        }
                    }
                    acc = ts_mbqm(acc, multiplier[oc], shift[oc]) + output_offset;
                    *output++ = ts_clamp_s8(acc, act_min, act_max);
                }
            }
        }
    }
}
