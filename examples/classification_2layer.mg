# The guide's §3.2: a 2-layer classifier with softmax outputs and the NLL loss, Y one-hot.
# With one-hot rows, −(1/t) Σ Y ⊙ log softmax(A₂) = (1/t)(sum(logsumexp(A₂)) − Y · A₂), the
# stable form; matgrad derives Δ₂ = (1/t)(softmax(A₂) − Y) of (26) (∇logsumexp = softmax).
X: t x n0, data
Y: t x n2, data
W1: n0 x n1; b1: 1 x n1
W2: n1 x n2; b2: 1 x n2

A1 = X*W1 + b1;  Z1 = f1(A1)
A2 = Z1*W2 + b2
J = 1/t * (sum(logsumexp(A2)) - <Y, A2>)
