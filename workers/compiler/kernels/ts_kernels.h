/* TinyStudio int8 (and 16x8) kernels: one function per operator, bit-exact with TFLite's reference
 * kernels.
 *
 * C99, no allocation, only <stdint.h>, <stddef.h>, <string.h> and <math.h>. Every kernel takes its
 * shapes and quantization constants in a `const` parameter struct prepared by the compiler.
 */
#ifndef TS_KERNELS_H
#define TS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Stack buffers of the convolution and pooling kernels (see the compiler's README); any value
 * from 1 up keeps the outputs exact (a model that gathers larger convolution windows refuses
 * to build with a smaller TS_CONV_GATHER_BYTES); smaller ones take the faster paths less often. */
/* ts_conv2d_small_s8's window (bytes) and channel record (int32 words: a head of five, then
 * the weights as 16-bit pairs); fixed, since the compiler lays the records out for them. */
#define TS_SMALL_WINDOW 12
#define TS_SMALL_HEAD 5
#define TS_SMALL_RECORD (TS_SMALL_HEAD + TS_SMALL_WINDOW / 2)
#ifndef TS_CONV_PAIR_RUN
#define TS_CONV_PAIR_RUN 128 /* input bytes of a pixel pair widened for the DSP pair path */
#endif
#ifndef TS_CONV_GATHER_BYTES
#define TS_CONV_GATHER_BYTES 256 /* largest convolution window copied to be contiguous */
#endif
#ifndef TS_POOL_CHUNK
#define TS_POOL_CHUNK 64 /* channels whose running maxima portable max pooling keeps */
#endif
#if TS_CONV_PAIR_RUN < 1 || TS_CONV_GATHER_BYTES < 1 || TS_POOL_CHUNK < 1
#error "TS_CONV_PAIR_RUN, TS_CONV_GATHER_BYTES and TS_POOL_CHUNK must be at least 1"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-point helpers (TFLite/gemmlowp arithmetic). */
int32_t ts_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t depth_multiplier; /* depthwise only */
    int32_t groups;           /* conv only: in_c / filter input depth */
    int32_t input_offset;     /* -input zero point */
    int32_t output_offset;    /* output zero point */
    int32_t act_min, act_max;
    /* conv only: 1 if every pixel's window is gathered into one contiguous run (small
     * windows); 1 in `interleaved` if the filters of each block of four output channels are
     * stored interleaved in 4-byte chunks per run (see ts_conv_pixel), which the compiler
     * does only when no window ever crosses the border or windows are gathered. */
    int32_t gather;
    int32_t interleaved;
} ts_conv_params;

/* CONV_2D over windows of at most TS_SMALL_WINDOW bytes whose shifts are all negative (a first
 * layer over one channel: 3x3 over a spectrogram, 5x1 over a signal): each pixel's window is
 * widened once and stays in registers while the output channels' records stream past.
 * `records` holds TS_SMALL_RECORD int32 words per output channel: bias_full, the multiplier,
 * the 64-bit rounding constant 2^30 + 2^(30+e) as low and high words, e - 1 for the right
 * shift e, then the weights as 16-bit pairs, per four taps (t0, t2) then (t1, t3), zero past
 * the last tap. */
void ts_conv2d_small_s8(const ts_conv_params *p, const int8_t *input, const int32_t *records,
                        int8_t *output);

/* CONV_2D, NHWC input, OHWI filter, per-channel multipliers. `bias_full` is the bias plus
 * input_offset times the sum of each output channel's filter. */
void ts_conv2d_s8(const ts_conv_params *p, const int8_t *input, const int8_t *filter,
                  const int32_t *bias_full, const int32_t *multiplier, const int32_t *shift,
                  int8_t *output);

/* DEPTHWISE_CONV_2D, NHWC input, 1HWC filter: `bias` for windows cut by the border,
 * `bias_full` (same convention as CONV_2D) for windows wholly inside. */
void ts_depthwise_conv2d_s8(const ts_conv_params *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, const int32_t *bias_full,
                            const int32_t *multiplier, const int32_t *shift, int8_t *output);

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t input_offset, filter_offset, output_offset;
    int32_t act_min, act_max;
    int32_t per_channel; /* 1: multiplier/shift per output unit, 0: one for all */
    int32_t interleaved; /* 1: blocks of four output units stored interleaved (see conv) */
} ts_fc_params;

/* FULLY_CONNECTED with [out_depth, accum_depth] weights; `bias_full` folds input_offset in. */
void ts_fully_connected_s8(const ts_fc_params *p, const int8_t *input, const int8_t *filter,
                           const int32_t *bias_full, const int32_t *multiplier,
                           const int32_t *shift, int8_t *output);

/* BATCH_MATMUL: `batches` output matrices of rows x cols, each the product of a matrix of the
 * left operand (rows x depth) and one of the right (depth x cols), which start at the element
 * offsets lhs_batches[b] and rhs_batches[b] (broadcast batches repeat an offset). Strides are in
 * elements, so either operand may be stored transposed. Requantized as LiteRT's reference does
 * (MultiplyByQuantizedMultiplier, one multiplier). */
typedef struct {
    int32_t batches, rows, cols, depth;
    int32_t lhs_row_stride, lhs_depth_stride;
    int32_t rhs_col_stride, rhs_depth_stride;
    int32_t lhs_offset, rhs_offset; /* -zero points */
    int32_t output_offset;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
} ts_batch_matmul_params;

void ts_batch_matmul_s8(const ts_batch_matmul_params *p, const int32_t *lhs_batches,
                        const int32_t *rhs_batches, const int8_t *lhs, const int8_t *rhs,
                        int8_t *output);

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
} ts_pool_params;

void ts_average_pool_s8(const ts_pool_params *p, const int8_t *input, int8_t *output);
void ts_max_pool_s8(const ts_pool_params *p, const int8_t *input, int8_t *output);

/* Element-wise binary ops (`op`): ADD and SUB in TFLite's reference arithmetic (both inputs
 * shifted left, scaled to a common scale, added or subtracted, requantized); MUL
 * ((a + offset1) * (b + offset2) requantized by the output multiplier); MAXIMUM and MINIMUM
 * on the int8 values (the inputs share the output's quantization); PRELU (input 2 the slopes:
 * a non-negative a + offset1 requantized by the input 1 multiplier, a negative one times
 * b + offset2 by the output multiplier). */
enum { TS_BINARY_ADD = 0, TS_BINARY_SUB = 1, TS_BINARY_MUL = 2, TS_BINARY_MAX = 3,
       TS_BINARY_MIN = 4, TS_BINARY_PRELU = 5 };

typedef struct {
    int32_t op;
    int32_t size;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    /* Broadcasting over up to 6 dims: output dims and element strides of each input
     * (stride 0 where an input is broadcast). rank 0 means same-shape element-wise. */
    int32_t rank;
    int32_t out_dims[6];
    int32_t in1_strides[6];
    int32_t in2_strides[6];
} ts_binary_params;

void ts_binary_s8(const ts_binary_params *p, const int8_t *input1, const int8_t *input2,
                  int8_t *output);

/* SOFTMAX over the last dimension, int8 in and out (output scale 1/256, zero point -128), in
 * TFLite's reference fixed-point arithmetic (gemmlowp exp and reciprocal). */
void ts_softmax_s8(int32_t outer, int32_t depth, int32_t input_multiplier,
                   int32_t input_left_shift, int32_t diff_min, const int8_t *input,
                   int8_t *output);

/* Element-wise 256-entry lookup (LOGISTIC, TANH): output = table[(uint8_t)input]. */
void ts_lookup_s8(int32_t size, const int8_t *table, const int8_t *input, int8_t *output);

/* Requantizing clamp (RELU, RELU6, RELU_N1_TO_1 as standalone ops). */
void ts_relu_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                int32_t multiplier, int32_t shift, int32_t act_min, int32_t act_max,
                const int8_t *input, int8_t *output);

void ts_quantize_f32_s8(int32_t size, float scale, int32_t zero_point, const float *input,
                        int8_t *output);
void ts_requantize_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                      int32_t multiplier, int32_t shift, const int8_t *input, int8_t *output);
void ts_dequantize_s8_f32(int32_t size, double scale, int32_t zero_point, const int8_t *input,
                          float *output);

/* PAD (up to 4 dims, NHWC order after padding the shape to 4). */
typedef struct {
    int32_t in_dims[4];
    int32_t out_dims[4];
    int32_t before[4];
    int32_t elem_bytes;
} ts_pad_params;

void ts_pad(const ts_pad_params *p, const void *input, void *output, const void *pad_value);

/* TRANSPOSE of int8 data over up to 6 dims: output element i (row-major over out_dims) is
 * the input element at the sum of its indices times in_strides (elements). */
typedef struct {
    int32_t rank;
    int32_t size;
    int32_t out_dims[6];
    int32_t in_strides[6];
} ts_transpose_params;

void ts_transpose_s8(const ts_transpose_params *p, const int8_t *input, int8_t *output);

/* RESIZE_NEAREST_NEIGHBOR (int8, NHWC): output pixel (y, x) copies input pixel (ymap[y],
 * xmap[x]); the compiler computes the maps as LiteRT does (align corners, half-pixel centers). */
typedef struct {
    int32_t batches, in_h, in_w, depth, out_h, out_w;
} ts_resize_params;

void ts_resize_nearest_s8(const ts_resize_params *p, const int32_t *ymap, const int32_t *xmap,
                          const int8_t *input, int8_t *output);

/* RESIZE_BILINEAR (int8, NHWC) in LiteRT's integer arithmetic: output row y blends input rows
 * ymap[3y] and ymap[3y + 1] with the weight ymap[3y + 2] / 1024 of the second (columns likewise
 * from xmap); the blend of the four pixels is rounded half away from zero. The compiler computes
 * the maps as the reference does (align corners, half-pixel centers). */
void ts_resize_bilinear_s8(const ts_resize_params *p, const int32_t *ymap, const int32_t *xmap,
                           const int8_t *input, int8_t *output);

/* TRANSPOSE_CONV, NHWC input, OHWI filter, per-channel multipliers: each output sums the
 * input pixels whose strided footprint covers it, (x + input_offset) * w, plus the bias. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
    int32_t input_offset, output_offset, act_min, act_max;
} ts_transpose_conv_params;

void ts_transpose_conv_s8(const ts_transpose_conv_params *p, const int8_t *input,
                          const int8_t *filter, const int32_t *bias, const int32_t *multiplier,
                          const int32_t *shift, int8_t *output);

/* Copies `count` blocks of `bytes` from input (stride in_stride) to output (stride out_stride):
 * the building block of CONCATENATION. */
void ts_copy_blocks(int32_t count, int32_t bytes, int32_t in_stride, int32_t out_stride,
                    const uint8_t *input, uint8_t *output);

/* MEAN of int8 (or int16) over any axes: for each output (odometer over the kept dims) the sum
 * over the reduced dims, rescaled by a multiplier that already folds in 1 / count. */
typedef struct {
    int32_t kept_rank;
    int32_t kept_dims[6];
    int32_t kept_strides[6];
    int32_t reduced_rank;
    int32_t reduced_dims[6];
    int32_t reduced_strides[6];
    int32_t count;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
} ts_mean_params;

void ts_mean_s8(const ts_mean_params *p, const int8_t *input, int8_t *output);
void ts_mean_s16(const ts_mean_params *p, const int16_t *input, int16_t *output);

/* 16x8: int16 activations with zero point 0, int8 weights, int64 biases (ts_kernels_int16.c).
 * Convolutions accumulate in 64 bits and requantize with LiteRT's 64-bit
 * MultiplyByQuantizedMultiplier (the multiplier rounded to 16 bits). */
void ts_conv2d_s16(const ts_conv_params *p, const int16_t *input, const int8_t *filter,
                   const int64_t *bias, const int32_t *multiplier, const int32_t *shift,
                   int16_t *output);
void ts_depthwise_conv2d_s16(const ts_conv_params *p, const int16_t *input,
                             const int8_t *filter, const int64_t *bias,
                             const int32_t *multiplier, const int32_t *shift, int16_t *output);

/* FULLY_CONNECTED 16x8: LiteRT's reference rescales the 64-bit sum in double precision,
 * round(acc * scale) with scale = input scale * filter scale / output scale per output unit
 * (or one for all). */
typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t per_channel;
    int32_t act_min, act_max;
} ts_fc_s16_params;

void ts_fully_connected_s16(const ts_fc_s16_params *p, const int16_t *input, const int8_t *filter,
                            const int64_t *bias, const double *scale, int16_t *output);

void ts_average_pool_s16(const ts_pool_params *p, const int16_t *input, int16_t *output);
void ts_max_pool_s16(const ts_pool_params *p, const int16_t *input, int16_t *output);

/* ADD and SUB of int16 inputs (the general-scale path: a left shift of 15). */
void ts_binary_s16(const ts_binary_params *p, const int16_t *input1, const int16_t *input2,
                   int16_t *output);

/* SOFTMAX of int16 over the last dimension: exp and 1 / (1 + x) from LiteRT's 513-entry
 * interpolated tables (the compiler computes them as LUTPopulate does), output in Q0.15. */
void ts_softmax_s16(int32_t outer, int32_t depth, int32_t input_multiplier,
                    int32_t input_left_shift, const int16_t *exp_lut,
                    const int16_t *reciprocal_lut, const int16_t *input, int16_t *output);

void ts_quantize_f32_s16(int32_t size, float scale, int32_t zero_point, const float *input,
                         int16_t *output);
void ts_dequantize_s16_f32(int32_t size, double scale, int32_t zero_point, const int16_t *input,
                           float *output);
/* QUANTIZE of int16 to int16 of another scale (zero points 0): MultiplyByQuantizedMultiplier. */
void ts_requantize_s16(int32_t size, int32_t multiplier, int32_t shift, const int16_t *input,
                       int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TS_KERNELS_H */
