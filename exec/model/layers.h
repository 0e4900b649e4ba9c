// The GPT layer kernels, llm.c style: plain fp32 row-major arrays, shapes in the signature
// (N = B*T rows, C channels, OC output channels, V vocabulary). Every backward is split into an
// input-gradient part and a weight-gradient part; weight gradients and dinp are ACCUMULATED (+=).
// Kernels use OpenMP over rows (and Eigen GEMMs); results depend only on inputs and thread count.
#pragma once

namespace paci::exec {

// out[b,t,:] = wte[inp[b,t],:] + wpe[t,:]
void encoder_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C);
void encoder_backward_weight(float* dwte, float* dwpe, const float* dout, const int* inp, int B, int T,
                             int C);

// LayerNorm over the last dim (eps 1e-5). mean, rstd: (N) saved for the backward.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C);
void layernorm_backward_input(float* dinp, const float* dout, const float* inp, const float* w,
                              const float* mean, const float* rstd, int N, int C);
void layernorm_backward_weight(float* dw, float* db, const float* dout, const float* inp,
                               const float* mean, const float* rstd, int N, int C);

// out (N,OC) = inp (N,C) @ w^T + bias, w stored [OC, C] like torch.nn.Linear. bias may be null.
void matmul_forward(float* out, const float* inp, const float* w, const float* bias, int N, int C, int OC);
void matmul_backward_input(float* dinp, const float* dout, const float* w, int N, int C, int OC);
void matmul_backward_weight(float* dw, float* dbias, const float* dout, const float* inp, int N, int C,
                            int OC);

// GELU, tanh approximation (GPT-2).
void gelu_forward(float* out, const float* inp, int N);
void gelu_backward(float* dinp, const float* inp, const float* dout, int N);  // dinp = (overwrite)

// Causal multi-head self-attention. qkv: (B,T,3C) as [q | k | v]; out: (B,T,C);
// att: (B,NH,T,T) softmax probabilities saved for the backward (upper triangle zero).
void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int NH);
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, int B, int T,
                        int C, int NH);  // dqkv = (overwrite)

// losses (N) = -log softmax(logits)[target]; probs (N,V) saved for the backward.
void crossentropy_forward(float* losses, float* probs, const float* logits, const int* targets, int N,
                          int V);
// dlogits = (probs - onehot(target)) * dloss (overwrite); dloss is the gradient of each token's loss.
void crossentropy_backward(float* dlogits, const float* probs, const int* targets, float dloss, int N,
                           int V);

}  // namespace paci::exec
