/* sgd.h: PyTorch's SGD update (coupled weight decay, momentum, Nesterov) for one element, shared by CPU and GPU. */
#ifndef SGD_H
#define SGD_H

#include "hd.h"

/*
 * d = g + wd*w;  v = m*v + d;  w -= lr * (nesterov ? d + m*v : v).
 * Matches torch.optim.SGD with dampening 0, including its first step: PyTorch sets
 * v = d on the first step, which equals m*0 + d because the buffer starts at zero.
 */
HD static inline void sgd_update_one(float *w, float g, float *v, float lr, float momentum,
                                     float weight_decay, int nesterov)
{
    const float d = g + weight_decay * *w;
    const float nv = momentum * *v + d;
    *v = nv;
    *w -= lr * (nesterov ? d + momentum * nv : nv);
}

#endif
