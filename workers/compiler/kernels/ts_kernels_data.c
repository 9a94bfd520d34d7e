/* Data movement and reduction: pad, transpose, resize, block copies and mean. */
#include "ts_kernels_internal.h"

void ts_pad(const ts_pad_params *p, const void *input, void *output, const void *pad_value)
{
    const int32_t eb = p->elem_bytes;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t total = p->out_dims[0] * p->out_dims[1] * p->out_dims[2] * p->out_dims[3];
    const int32_t row_bytes = p->in_dims[3] * eb;
    int32_t i, a, b, c;
    /* Fill with the pad value, then copy the input rows (innermost dim) into place. */
    for (i = 0; i < total; ++i) {
        memcpy(out + (size_t)i * eb, pad_value, (size_t)eb);
    }
    for (a = 0; a < p->in_dims[0]; ++a) {
        for (b = 0; b < p->in_dims[1]; ++b) {
            for (c = 0; c < p->in_dims[2]; ++c) {
                const size_t o = ((((size_t)(a + p->before[0]) * p->out_dims[1] +
                                    (size_t)(b + p->before[1])) * p->out_dims[2] +
                                   (size_t)(c + p->before[2])) * p->out_dims[3] +
                                  (size_t)p->before[3]) * (size_t)eb;
                memcpy(out + o, in, (size_t)row_bytes);
                in += row_bytes;
            }
        }
    }
}

void ts_transpose_s8(const ts_transpose_params *p, const int8_t *input, int8_t *output)
{
    /* Odometer over the output index; the input offset follows with the permuted strides. */
    int32_t idx[6] = {0, 0, 0, 0, 0, 0};
    int32_t off = 0, i, d;
    for (i = 0; i < p->size; ++i) {
        output[i] = input[off];
        for (d = p->rank - 1; d >= 0; --d) {
            idx[d]++;
            off += p->in_strides[d];
            if (idx[d] < p->out_dims[d]) {
                break;
            }
            off -= p->in_strides[d] * p->out_dims[d];
            idx[d] = 0;
        }
    }
}

void ts_resize_nearest_s8(const ts_resize_params *p, const int32_t *ymap, const int32_t *xmap,
                          const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    int32_t b, y, x, c;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * p->in_h * p->in_w * depth;
        for (y = 0; y < p->out_h; ++y) {
            const int8_t *row = in_batch + (size_t)ymap[y] * p->in_w * depth;
            for (x = 0; x < p->out_w; ++x) {
                const int8_t *src = row + (size_t)xmap[x] * depth;
                for (c = 0; c < depth; ++c) {
                    *output++ = src[c];
                }
            }
        }
    }
}

void ts_resize_bilinear_s8(const ts_resize_params *p, const int32_t *ymap, const int32_t *xmap,
                           const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    const int32_t in_row = p->in_w * depth;
    int32_t b, y, x, c;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * p->in_h * in_row;
        for (y = 0; y < p->out_h; ++y) {
            const int8_t *row0 = in_batch + (size_t)ymap[3 * y] * in_row;
            const int8_t *row1 = in_batch + (size_t)ymap[3 * y + 1] * in_row;
            const int32_t wy = ymap[3 * y + 2];
            for (x = 0; x < p->out_w; ++x) {
                const int32_t x0 = xmap[3 * x] * depth, x1 = xmap[3 * x + 1] * depth;
                const int32_t wx = xmap[3 * x + 2];
                /* The reference multiplies in 64 bits, but the weights' magnitudes sum to at most
                 * 2048 * 2048 (a weight leaves [0, 1024] only where both rows or columns are
                 * one), so 128 times that fits 32 bits and the sums are the same. */
                const int32_t w00 = (1024 - wy) * (1024 - wx), w10 = wy * (1024 - wx);
                const int32_t w01 = (1024 - wy) * wx, w11 = wy * wx;
                for (c = 0; c < depth; ++c) {
                    const int32_t sum = row0[x0 + c] * w00 + row1[x0 + c] * w10 +
                                        row0[x1 + c] * w01 + row1[x1 + c] * w11;
                    *output++ = (int8_t)((sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    }
}

void ts_copy_blocks(int32_t count, int32_t bytes, int32_t in_stride, int32_t out_stride,
                    const uint8_t *input, uint8_t *output)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        memmove(output + (size_t)i * out_stride, input + (size_t)i * in_stride, (size_t)bytes);
    }
}

/* MEAN over int8 (`wide` 0) or int16 (`wide` 1) data: a constant where this is inlined, so each
 * caller gets its own loop. Outputs are clamped to the type's range. */
static inline void ts_mean(const ts_mean_params *p, int32_t wide, const void *input, void *output)
{
    const int8_t *narrow_in = (const int8_t *)input;
    const int16_t *wide_in = (const int16_t *)input;
    int32_t kept_idx[6] = {0, 0, 0, 0, 0, 0};
    int32_t base = 0;
    int32_t total = 1, o, d;
    for (d = 0; d < p->kept_rank; ++d) {
        total *= p->kept_dims[d];
    }
    for (o = 0; o < total; ++o) {
        int32_t red_idx[6] = {0, 0, 0, 0, 0, 0};
        int32_t offset = base;
        int32_t sum = 0, r, v;
        for (r = 0; r < p->count; ++r) {
            sum += wide ? wide_in[offset] : narrow_in[offset];
            for (d = p->reduced_rank - 1; d >= 0; --d) {
                red_idx[d]++;
                offset += p->reduced_strides[d];
                if (red_idx[d] < p->reduced_dims[d]) {
                    break;
                }
                offset -= p->reduced_strides[d] * p->reduced_dims[d];
                red_idx[d] = 0;
            }
        }
        v = ts_mbqm(sum - p->input_zero_point * p->count, p->multiplier, p->shift) +
            p->output_zero_point;
        if (wide) {
            ((int16_t *)output)[o] = (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
        } else {
            ((int8_t *)output)[o] = ts_clamp_s8(v, -128, 127);
        }
        for (d = p->kept_rank - 1; d >= 0; --d) {
            kept_idx[d]++;
            base += p->kept_strides[d];
            if (kept_idx[d] < p->kept_dims[d]) {
                break;
            }
            base -= p->kept_strides[d] * p->kept_dims[d];
            kept_idx[d] = 0;
        }
    }
}

void ts_mean_s8(const ts_mean_params *p, const int8_t *input, int8_t *output)
{
    ts_mean(p, 0, input, output);
}

void ts_mean_s16(const ts_mean_params *p, const int16_t *input, int16_t *output)
{
    ts_mean(p, 1, input, output);
}
