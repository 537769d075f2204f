# The guide's §3.1: a k-layer regression network (here k = 3, written out), squared error.
# matgrad derives the recursion (23): Δₖ = fₖ′(Aₖ) ⊙ (1/t)(Zₖ − Y), Δⱼ = fⱼ′(Aⱼ) ⊙ Δⱼ₊₁Wⱼ₊₁ᵀ.
X: t x n0, data
Y: t x n3, data
W1: n0 x n1; b1: 1 x n1
W2: n1 x n2; b2: 1 x n2
W3: n2 x n3; b3: 1 x n3

A1 = X*W1 + b1;  Z1 = f1(A1)
A2 = Z1*W2 + b2; Z2 = f2(A2)
A3 = Z2*W3 + b3; Z3 = f3(A3)
J = 1/(2*t) * ||Z3 - Y||^2
