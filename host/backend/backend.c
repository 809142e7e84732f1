/* backend.c: backend-neutral helpers of the backend interface. */
#include "backend/backend.h"

conv_shape conv_shape_make(int n, int c, int h, int w, int k, int r, int stride, int pad)
{
    conv_shape s = {n, c, h, w, k, r, stride, pad, 0, 0};
    s.oh = (h + 2 * pad - r) / stride + 1;
    s.ow = (w + 2 * pad - r) / stride + 1;
    return s;
}
