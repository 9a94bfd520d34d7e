/* FULLY_CONNECTED, BATCH_MATMUL, AVERAGE_POOL_2D and MAX_POOL_2D. */
#include "ts_kernels_internal.h"

void ts_fully_connected_s8(const ts_fc_params *p, const int8_t *input, const int8_t *filter,
                           const int32_t *bias_full, const int32_t *multiplier,
                           const int32_t *shift, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t batches = p->batches;
    const int32_t accum_depth = p->accum_depth;
    const int32_t out_depth = p->out_depth;
    const int32_t filter_offset = p->filter_offset;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t per_channel = p->per_channel;
    const int32_t interleaved = p->interleaved;
    const int32_t depth = accum_depth;
    int32_t b, o, d;
    for (b = 0; b < batches; ++b) {
        const int8_t *in = input + (size_t)b * depth;
        o = 0;
        if (filter_offset == 0) {
            for (; o + 4 <= out_depth; o += 4) {
                int32_t acc[4];
                int32_t i;
                for (i = 0; i < 4; ++i) {
                    acc[i] = bias_full[o + i];
                }
                if (interleaved) {
                    ts_blocks4_interleaved(in, 0, 1, depth, filter + (size_t)o * depth,
                                           bias_full + o, 1, acc);
                } else {
                    ts_dot4_s8(in, filter + (size_t)o * depth, depth, depth, acc);
                }
                for (i = 0; i < 4; ++i) {
                    const int32_t k = per_channel ? o + i : 0;
                    const int32_t v = ts_mbqm_single(acc[i], multiplier[k], shift[k]) +
                                      output_offset;
                    output[i] = ts_clamp_s8(v, act_min, act_max);
                }
                output += 4;
            }
        }
        for (; o < out_depth; ++o) {
            const int8_t *f = filter + (size_t)o * depth;
            const int32_t idx = per_channel ? o : 0;
            int32_t acc = bias_full[o];
            if (filter_offset == 0) {
                for (d = 0; d < depth; ++d) {
                    acc += (int32_t)f[d] * (int32_t)in[d];
                }
            } else {
                /* bias_full already holds input_offset * (filter + filter_offset) sums. */
                for (d = 0; d < depth; ++d) {
                    acc += ((int32_t)f[d] + filter_offset) * (int32_t)in[d];
                }
            }
            acc = ts_mbqm_single(acc, multiplier[idx], shift[idx]) + output_offset;
            *output++ = ts_clamp_s8(acc, act_min, act_max);
        }
    }
}

void ts_batch_matmul_s8(const ts_batch_matmul_params *p, const int32_t *lhs_batches,
                        const int32_t *rhs_batches, const int8_t *lhs, const int8_t *rhs,
                        int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters. */
    const int32_t rows = p->rows, cols = p->cols, depth = p->depth;
    const int32_t lhs_row = p->lhs_row_stride, lhs_step = p->lhs_depth_stride;
    const int32_t rhs_col = p->rhs_col_stride, rhs_step = p->rhs_depth_stride;
    const int32_t lhs_offset = p->lhs_offset, rhs_offset = p->rhs_offset;
    const int32_t multiplier = p->multiplier, shift = p->shift;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    int32_t b, m, n, k;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = lhs + lhs_batches[b];
        const int8_t *y = rhs + rhs_batches[b];
        for (m = 0; m < rows; ++m) {
            const int8_t *xr = x + (size_t)m * lhs_row;
            for (n = 0; n < cols; ++n) {
                const int8_t *yc = y + (size_t)n * rhs_col;
                int32_t acc = 0;
                for (k = 0; k < depth; ++k) {
                    acc += ((int32_t)xr[k * lhs_step] + lhs_offset) *
                           ((int32_t)yc[k * rhs_step] + rhs_offset);
                }
                *output++ = ts_output_s8(acc, multiplier, shift, output_offset, act_min, act_max);
            }
        }
    }
}

void ts_average_pool_s8(const ts_pool_params *p, const int8_t *input, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t batches = p->batches;
    const int32_t in_h = p->in_h;
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t k_h = p->k_h;
    const int32_t k_w = p->k_w;
    const int32_t stride_h = p->stride_h;
    const int32_t stride_w = p->stride_w;
    const int32_t pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t channels = p->channels;
    const int32_t ch = channels;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_w * ch;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_top;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
            const int32_t fy1 = k_h < in_h - iy0 ? k_h : in_h - iy0;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fx1 = k_w < in_w - ix0 ? k_w : in_w - ix0;
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                for (c = 0; c < ch; ++c) {
                    int32_t acc = 0;
                    for (fy = fy0; fy < fy1; ++fy) {
                        const int8_t *row =
                            in_batch + ((size_t)(iy0 + fy) * in_w + (size_t)ix0) * ch + c;
                        for (fx = fx0; fx < fx1; ++fx) {
                            acc += row[fx * ch];
                        }
                    }
                    if (count > 0) {
                        /* Round half away from zero, as TFLite's reference does. */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *output++ = ts_clamp_s8(acc, act_min, act_max);
                }
            }
        }
    }
}

#if TS_DSP
/* The larger of each of the four signed bytes of a and b: SSUB8 sets a GE flag per byte where
 * a >= b, SEL takes those bytes from a and the others from b (one asm: nothing else may touch
 * the GE flags in between). */
static inline uint32_t ts_max4_s8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

/* The smaller of each of the four signed bytes of a and b. */
static inline uint32_t ts_min4_s8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

/* A signed byte in all four lanes of a word. */
static inline uint32_t ts_splat4(int32_t v)
{
    return (uint32_t)(uint8_t)(int8_t)v * 0x01010101u;
}
#endif

void ts_max_pool_s8(const ts_pool_params *p, const int8_t *input, int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters, which would
     * otherwise be reloaded after every store. */
    const int32_t batches = p->batches;
    const int32_t in_h = p->in_h;
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t k_h = p->k_h;
    const int32_t k_w = p->k_w;
    const int32_t stride_h = p->stride_h;
    const int32_t stride_w = p->stride_w;
    const int32_t pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t ch = p->channels;
    const int32_t in_row = in_w * ch;
    int32_t b, oy, ox, c, fy, fx, i;
    for (b = 0; b < batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_row;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_top;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
            const int32_t fy1 = k_h < in_h - iy0 ? k_h : in_h - iy0;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fx1 = k_w < in_w - ix0 ? k_w : in_w - ix0;
                /* The window's first tap inside the image; taps step by ch, rows by in_row.
                 * Channels are innermost (contiguous), in groups whose maxima are written
                 * once all of the group's taps are read. */
                const int8_t *origin =
                    in_batch + (size_t)(iy0 + fy0) * in_row + (size_t)(ix0 + fx0) * ch;
                c = 0;
#if TS_DSP
                {
                    const uint32_t lo = ts_splat4(act_min), hi = ts_splat4(act_max);
                    if (fy1 - fy0 == 2 && fx1 - fx0 == 2) {
                        /* 2x2 windows, the usual pooling: four taps, no loops. */
                        const int8_t *r0 = origin, *r1 = origin + in_row;
                        for (; c + 4 <= ch; c += 4) {
                            uint32_t best = ts_max4_s8(
                                ts_max4_s8(ts_load4(r0 + c), ts_load4(r0 + ch + c)),
                                ts_max4_s8(ts_load4(r1 + c), ts_load4(r1 + ch + c)));
                            best = ts_min4_s8(ts_max4_s8(best, lo), hi);
                            memcpy(output + c, &best, sizeof best);
                        }
                    }
                    for (; c + 4 <= ch; c += 4) {
                        uint32_t best = 0x80808080u; /* -128 in every lane */
                        const int8_t *row = origin + c;
                        for (fy = fy0; fy < fy1; ++fy, row += in_row) {
                            const int8_t *tap = row;
                            for (fx = fx0; fx < fx1; ++fx, tap += ch) {
                                best = ts_max4_s8(best, ts_load4(tap));
                            }
                        }
                        best = ts_min4_s8(ts_max4_s8(best, lo), hi);
                        memcpy(output + c, &best, sizeof best);
                    }
                }
#endif
                while (c < ch) {
                    const int32_t n = ch - c < TS_POOL_CHUNK ? ch - c : TS_POOL_CHUNK;
                    int8_t best[TS_POOL_CHUNK];
                    const int8_t *row = origin + c;
                    for (i = 0; i < n; ++i) {
                        best[i] = -128;
                    }
                    for (fy = fy0; fy < fy1; ++fy, row += in_row) {
                        const int8_t *tap = row;
                        for (fx = fx0; fx < fx1; ++fx, tap += ch) {
                            for (i = 0; i < n; ++i) {
                                if (tap[i] > best[i]) {
                                    best[i] = tap[i];
                                }
                            }
                        }
                    }
                    for (i = 0; i < n; ++i) {
                        output[c + i] = ts_clamp_s8(best[i], act_min, act_max);
                    }
                    c += n;
                }
                output += ch;
            }
        }
    }
}
