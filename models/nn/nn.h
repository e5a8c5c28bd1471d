/* nn — umbrella header for the numerical core: tensors and arena (nn_tensor.h), tape
 * autograd (nn_tape.h), ops (nn_ops.h), CSR products (nn_sparse.h), parameters and
 * optimizers (nn_optim.h), gradient checks (nn_gradcheck.h), safetensors I/O
 * (nn_safetensors.h). See each header's top comment for its API and ownership rules. */
#ifndef NN_H
#define NN_H

#include "models/nn/nn_gradcheck.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_optim.h"
#include "models/nn/nn_safetensors.h"
#include "models/nn/nn_sparse.h"
#include "models/nn/nn_tape.h"
#include "models/nn/nn_tensor.h"

#endif
