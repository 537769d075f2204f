# The guide's §3.2 at symbolic depth: k − 1 hidden layers in a loop, then a softmax output layer
# with the NLL loss (Y one-hot) and weight decay on the last layer.  The loop's recursion (23)
# starts from the epilogue's Δₖ = (1/t)(Zₖ − Y), the guide's (26).
X: t x n[0], data
Y: t x n[k], data, onehot
lambda: scalar, const
Z[0] = X
for j in 1..k-1:
    W[j]: n[j-1] x n[j]; b[j]: 1 x n[j]
    A[j] = Z[j-1]*W[j] + b[j]
    Z[j] = f[j](A[j])
end
W[k]: n[k-1] x n[k]; b[k]: 1 x n[k]
A[k] = Z[k-1]*W[k] + b[k]
Z[k] = softmax(A[k])
J = -1/t * sum(Y .* log(Z[k])) + lambda/2 * ||W[k]||^2
