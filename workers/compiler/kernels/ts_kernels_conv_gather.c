/* Convolutions that gather their inputs: windows copied to one contiguous run
 * (small first layers), and TRANSPOSE_CONV, which gathers per output the inputs whose strided
 * footprint covers it. */
#include "ts_kernels_internal.h"

/* Copies the k_h x k_w window at (iy0, ix0) into `window` as one contiguous run, the zero
 * point where it leaves the image. */
void ts_gather_window(const int8_t *in_batch, int32_t iy0, int32_t ix0, int32_t k_h, int32_t k_w,
                      int32_t dil_h, int32_t dil_w, int32_t in_h, int32_t in_w, int32_t in_c,
                      int8_t zero_point, int8_t *window)
{
    const int32_t in_row = in_w * in_c;
    int32_t fy, fx, ic;
    if (dil_w == 1 && iy0 >= 0 && ix0 >= 0 && iy0 + (k_h - 1) * dil_h < in_h &&
        ix0 + k_w - 1 < in_w) {
        /* Inside the image (most windows): each filter row is one contiguous run, copied
         * without a bounds check per tap. */
        const int32_t run = k_w * in_c;
        const int8_t *src = in_batch + (size_t)iy0 * in_row + (size_t)ix0 * in_c;
        for (fy = 0; fy < k_h; ++fy, src += (size_t)dil_h * in_row) {
            for (ic = 0; ic < run; ++ic) {
                window[ic] = src[ic];
            }
            window += run;
        }
        return;
    }
    for (fy = 0; fy < k_h; ++fy) {
        const int32_t iy = iy0 + fy * dil_h;
        for (fx = 0; fx < k_w; ++fx) {
            const int32_t ix = ix0 + fx * dil_w;
            /* Windows are small (a few bytes per tap): plain loops beat library calls. */
            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                const int8_t *src = in_batch + (size_t)iy * in_row + (size_t)ix * in_c;
                for (ic = 0; ic < in_c; ++ic) {
                    window[ic] = src[ic];
                }
            } else {
                for (ic = 0; ic < in_c; ++ic) {
                    window[ic] = zero_point;
                }
            }
            window += in_c;
        }
    }
}

/* ts_conv2d_small_s8's requantization, ts_mbqm for a negative shift -e with its constants
 * from the channel record: the sum x * m + 2^30 + k * 2^31 with k = 2^(e-1) - (x < 0) is
 * x * m + R - (x < 0) * 2^31 with R = 2^30 + 2^(30+e) (head[2], head[3]), and its high word
 * shifted right by e - 1 (head[4]) is the result. */
static inline int32_t ts_small_requantize(int32_t acc, const int32_t *head)
{
#if TS_DSP
    uint32_t lo = (uint32_t)head[2];
    int32_t hi = head[3];
    __asm__("smlal %0, %1, %2, %3\n\t"
            "adds %0, %0, %4\n\t"
            "adc %1, %1, %2, asr #31"
            : "+&r"(lo), "+&r"(hi)
            : "r"(acc), "r"(head[1]), "r"((uint32_t)acc & 0x80000000u)
            : "cc");
    return hi >> head[4];
#else
    const int64_t sum = (int64_t)acc * head[1] +
                        (int64_t)(((uint64_t)(uint32_t)head[3] << 32) | (uint32_t)head[2]) -
                        (acc < 0 ? ((int64_t)1 << 31) : 0);
    return (int32_t)(sum >> 32) >> head[4];
#endif
}

/* Copies the window of a pixel whose rows of `run` <= 4 bytes lie inside the image, spelled
 * out per length: a copy loop here would become a memcpy call per row, which costs more than
 * the bytes. */
static inline void ts_small_copy(const int8_t *src, int32_t rows, int32_t run, int32_t row_step,
                                 int8_t *dst)
{
    int32_t r;
    for (r = 0; r < rows; ++r, src += row_step, dst += run) {
        switch (run) {
        case 4:
            dst[3] = src[3];
            /* fall through */
        case 3:
            dst[2] = src[2];
            /* fall through */
        case 2:
            dst[1] = src[1];
            /* fall through */
        default:
            dst[0] = src[0];
        }
    }
}

void ts_conv2d_small_s8(const ts_conv_params *p, const int8_t *input, const int32_t *records,
                        int8_t *output)
{
    /* Fields copied to locals: int8 output stores may alias the parameters. */
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
    const int32_t k_h = p->k_h, k_w = p->k_w;
    const int32_t stride_w = p->stride_w, pad_left = p->pad_left;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    const int32_t run = k_w * in_c;
    const int32_t row_step = p->dil_h * in_w * in_c;
    const int32_t *end = records + p->out_c * TS_SMALL_RECORD;
    /* Pixels whose window lies inside the image are copied directly; the others (and dilated
     * columns) take the general gather with its zero point. */
    const int32_t first_inside = (pad_left + stride_w - 1) / stride_w;
    const int32_t last_inside = (in_w - k_w + pad_left) / stride_w;
    /* Word-aligned and zero past the taps, whose weights are zero too. */
    union {
        int8_t bytes[TS_SMALL_WINDOW];
        uint32_t words[TS_SMALL_WINDOW / 4];
    } window;
    int32_t b, oy, ox;
    memset(&window, 0, sizeof window);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int rows_inside = p->dil_w == 1 && run <= 4 && iy0 >= 0 &&
                                    iy0 + (k_h - 1) * p->dil_h < in_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int32_t *q;
                if (rows_inside && ox >= first_inside && ox <= last_inside) {
                    ts_small_copy(in_batch + ((size_t)iy0 * in_w + (size_t)ix0) * in_c, k_h, run,
                                  row_step, window.bytes);
                } else {
                    ts_gather_window(in_batch, iy0, ix0, k_h, k_w, p->dil_h, p->dil_w, in_h,
                                     in_w, in_c, zero_point, window.bytes);
                }
                {
#if TS_DSP
                    /* The widened window stays in registers while the records stream past. */
                    const uint32_t a02 = ts_sxtb16(window.words[0]);
                    const uint32_t a13 = ts_sxtb16_ror8(window.words[0]);
                    const uint32_t b02 = ts_sxtb16(window.words[1]);
                    const uint32_t b13 = ts_sxtb16_ror8(window.words[1]);
                    const uint32_t c02 = ts_sxtb16(window.words[2]);
                    const uint32_t c13 = ts_sxtb16_ror8(window.words[2]);
                    for (q = records; q < end; q += TS_SMALL_RECORD) {
                        const int32_t *w = q + TS_SMALL_HEAD;
                        int32_t acc = ts_smlad(a02, (uint32_t)w[0], q[0]);
                        acc = ts_smlad(a13, (uint32_t)w[1], acc);
                        acc = ts_smlad(b02, (uint32_t)w[2], acc);
                        acc = ts_smlad(b13, (uint32_t)w[3], acc);
                        acc = ts_smlad(c02, (uint32_t)w[4], acc);
                        acc = ts_smlad(c13, (uint32_t)w[5], acc);
                        *output++ = ts_clamp_s8(ts_small_requantize(acc, q) + output_offset,
                                                act_min, act_max);
                    }
#else
                    for (q = records; q < end; q += TS_SMALL_RECORD) {
                        const int32_t *w = q + TS_SMALL_HEAD;
                        int32_t acc = q[0], c;
                        for (c = 0; c < TS_SMALL_WINDOW / 4; ++c) {
                            const int8_t *x = window.bytes + 4 * c;
                            const int32_t w02 = w[2 * c], w13 = w[2 * c + 1];
                            acc += x[0] * (int16_t)(w02 & 0xffff) + x[2] * (w02 >> 16);
                            acc += x[1] * (int16_t)(w13 & 0xffff) + x[3] * (w13 >> 16);
                        }
                        *output++ = ts_clamp_s8(ts_small_requantize(acc, q) + output_offset,
                                                act_min, act_max);
                    }
#endif
                }
            }
        }
    }
}

void ts_transpose_conv_s8(const ts_transpose_conv_params *p, const int8_t *input,
                          const int8_t *filter, const int32_t *bias, const int32_t *multiplier,
                          const int32_t *shift, int8_t *output)
{
    const int32_t in_c = p->in_c;
    const int32_t input_offset = p->input_offset;
    int32_t b, oy, ox, oc, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * p->in_h * p->in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                for (oc = 0; oc < p->out_c; ++oc) {
                    int32_t acc = bias[oc];
                    for (fy = 0; fy < p->k_h; ++fy) {
                        /* Input row iy reaches output row iy * stride - pad + fy. */
                        const int32_t ny = oy + p->pad_top - fy;
                        const int32_t iy = ny / p->stride_h;
                        if (ny < 0 || ny % p->stride_h != 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (fx = 0; fx < p->k_w; ++fx) {
                            const int32_t nx = ox + p->pad_left - fx;
                            const int32_t ix = nx / p->stride_w;
                            const int8_t *f;
                            if (nx < 0 || nx % p->stride_w != 0 || ix >= p->in_w) {
                                continue;
                            }
                            f = filter + (((size_t)oc * p->k_h + fy) * p->k_w + fx) * in_c;
                            acc = ts_dot_s8(in_batch + ((size_t)iy * p->in_w + ix) * in_c, f,
                                            in_c, acc) +
                                  input_offset * ts_sum_s8(f, in_c);
                        }
                    }
                    *output++ = ts_output_s8(acc, multiplier[oc], shift[oc], p->output_offset,
                                             p->act_min, p->act_max);
                }
            }
        }
    }
}
