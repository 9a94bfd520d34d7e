/* Element-wise arithmetic: binary ops, softmax, tables, activations, quantize and
 * dequantize. */
#include <math.h>
#include "ts_kernels_internal.h"

int32_t ts_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    return ts_mbqm(x, multiplier, shift);
}

/* One output of a binary op, unclamped; `op` is a constant where this is inlined. */
static inline __attribute__((always_inline)) int32_t
ts_binary_one(const ts_binary_params *p, const int32_t op, int32_t a, int32_t b)
{
    if (op == TS_BINARY_MAX) {
        return a > b ? a : b;
    }
    if (op == TS_BINARY_MIN) {
        return a < b ? a : b;
    }
    if (op == TS_BINARY_PRELU) {
        const int32_t x = p->input1_offset + a;
        if (x >= 0) {
            return ts_mbqm(x, p->input1_multiplier, p->input1_shift) + p->output_offset;
        }
        return ts_mbqm(x * (p->input2_offset + b), p->output_multiplier, p->output_shift) +
               p->output_offset;
    }
    if (op == TS_BINARY_MUL) {
        return ts_mbqm((p->input1_offset + a) * (p->input2_offset + b), p->output_multiplier,
                       p->output_shift) +
               p->output_offset;
    }
    return ts_add_sub(p, op == TS_BINARY_SUB, a, b);
}

static inline __attribute__((always_inline)) void
ts_binary_loop(const ts_binary_params *p, const int32_t op, const int8_t *input1,
               const int8_t *input2, int8_t *output)
{
    int32_t i;
    if (p->rank == 0) {
        for (i = 0; i < p->size; ++i) {
            output[i] = ts_clamp_s8(ts_binary_one(p, op, input1[i], input2[i]), p->act_min,
                                    p->act_max);
        }
        return;
    }
    {
        int32_t idx[6] = {0, 0, 0, 0, 0, 0};
        int32_t off1 = 0, off2 = 0;
        for (i = 0; i < p->size; ++i) {
            output[i] = ts_clamp_s8(ts_binary_one(p, op, input1[off1], input2[off2]),
                                    p->act_min, p->act_max);
            ts_broadcast_step(p, idx, &off1, &off2);
        }
    }
}

void ts_binary_s8(const ts_binary_params *p, const int8_t *input1, const int8_t *input2,
                  int8_t *output)
{
    /* One loop per op, each with its arithmetic inlined. */
    switch (p->op) {
    case TS_BINARY_SUB:
        ts_binary_loop(p, TS_BINARY_SUB, input1, input2, output);
        return;
    case TS_BINARY_MUL:
        ts_binary_loop(p, TS_BINARY_MUL, input1, input2, output);
        return;
    case TS_BINARY_MAX:
        ts_binary_loop(p, TS_BINARY_MAX, input1, input2, output);
        return;
    case TS_BINARY_MIN:
        ts_binary_loop(p, TS_BINARY_MIN, input1, input2, output);
        return;
    case TS_BINARY_PRELU:
        ts_binary_loop(p, TS_BINARY_PRELU, input1, input2, output);
        return;
    default:
        ts_binary_loop(p, TS_BINARY_ADD, input1, input2, output);
        return;
    }
}

/* gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent: a saturating x * 2^e. */
static inline int32_t ts_sat_left_shift(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out (gemmlowp's Taylor expansion around -1/8). */
static int32_t ts_exp_quarter_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;    /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 */
    const int32_t x = a + (1 << 28);
    const int32_t x2 = ts_srdhm(x, x);
    const int32_t x3 = ts_srdhm(x2, x);
    const int32_t x4 = ts_srdhm(x2, x2);
    const int32_t x4_over_4 = ts_rdbpot(x4, 2);
    const int32_t poly = ts_rdbpot(ts_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + ts_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26, result in Q0.31 (gemmlowp's exp_on_negative_values). */
static int32_t ts_exp_on_negative_values(int32_t a)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535,   720401,     242};
    const int32_t one_quarter = 1 << 24;
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    int32_t result = ts_exp_quarter_interval(ts_sat_left_shift(a_mod_quarter_minus_one_quarter, 5));
    int32_t k;
    /* Barrel shifter: multiply by exp(-2^k / 4) for each set bit of the remainder. */
    for (k = 0; k < 7; ++k) {
        if (remainder & (1 << (24 + k))) {
            result = ts_srdhm(result, multipliers[k]);
        }
    }
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out (gemmlowp's Newton-Raphson division). */
static int32_t ts_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    int32_t x = constant_48_over_17 + ts_srdhm(half_denominator, constant_neg_32_over_17);
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = ts_srdhm(half_denominator, x);
        const int32_t one_minus = (1 << 29) - half_denominator_times_x;
        x = x + ts_sat_left_shift(ts_srdhm(x, one_minus), 2);
    }
    return ts_sat_left_shift(x, 1);
}

void ts_softmax_s8(int32_t outer, int32_t depth, int32_t input_multiplier,
                   int32_t input_left_shift, int32_t diff_min, const int8_t *input,
                   int8_t *output)
{
    int32_t i, c;
    for (i = 0; i < outer; ++i) {
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0; /* Q12.19 */
        int32_t headroom_plus_one, num_bits_over_unit, shifted_scale, exponent;
        for (c = 0; c < depth; ++c) {
            if (input[c] > max_in_row) {
                max_in_row = input[c];
            }
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)input[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = ts_srdhm((int32_t)((uint32_t)diff << input_left_shift),
                                                input_multiplier);
                sum_of_exps += ts_rdbpot(ts_exp_on_negative_values(scaled), 12);
            }
        }
        headroom_plus_one = ts_count_leading_zeros((uint32_t)sum_of_exps);
        num_bits_over_unit = 12 - headroom_plus_one;
        shifted_scale = ts_one_over_one_plus_x(
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31)));
        exponent = num_bits_over_unit + 31 - 8;
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)input[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = ts_srdhm((int32_t)((uint32_t)diff << input_left_shift),
                                                input_multiplier);
                const int32_t exp_in_0 = ts_exp_on_negative_values(scaled);
                const int32_t unsat = ts_rdbpot(ts_srdhm(shifted_scale, exp_in_0), exponent);
                output[c] = ts_clamp_s8(unsat - 128, -128, 127);
            } else {
                output[c] = -128;
            }
        }
        input += depth;
        output += depth;
    }
}

void ts_lookup_s8(int32_t size, const int8_t *table, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
}

void ts_relu_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                int32_t multiplier, int32_t shift, int32_t act_min, int32_t act_max,
                const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = output_zero_point +
                          ts_mbqm((int32_t)input[i] - input_zero_point, multiplier, shift);
        output[i] = ts_clamp_s8(v, act_min, act_max);
    }
}

void ts_quantize_f32_s8(int32_t size, float scale, int32_t zero_point, const float *input,
                        int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = (int32_t)roundf(input[i] / scale) + zero_point;
        output[i] = ts_clamp_s8(v, -128, 127);
    }
}

void ts_requantize_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                      int32_t multiplier, int32_t shift, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v =
            ts_mbqm((int32_t)input[i] - input_zero_point, multiplier, shift) + output_zero_point;
        output[i] = ts_clamp_s8(v, -128, 127);
    }
}

void ts_dequantize_s8_f32(int32_t size, double scale, int32_t zero_point, const int8_t *input,
                          float *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = (float)(scale * (double)((int32_t)input[i] - zero_point));
    }
}
