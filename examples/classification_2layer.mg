# The guide's §3.2: a 2-layer classifier with softmax outputs (24) and the NLL loss, Y one-hot.
# matgrad rewrites log softmax(A₂) to the stable A₂ − logsumexp(A₂)𝟏ᵀ, uses that Y's rows sum to
# one, and derives Δ₂ = (1/t)(Z₂ − Y) of (26).
X: t x n0, data
Y: t x n2, data, onehot
W1: n0 x n1; b1: 1 x n1
W2: n1 x n2; b2: 1 x n2

A1 = X*W1 + b1;  Z1 = f1(A1)
A2 = Z1*W2 + b2; Z2 = softmax(A2)
J = -1/t * sum(Y .* log(Z2))
