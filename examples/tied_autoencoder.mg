# The guide's §3.3: an auto-encoder with tied weights (k = 4 layers, W₃ = W₂ᵀ, W₄ = W₁ᵀ).
# matgrad sums both uses of each tied matrix, giving (27):
# ∂J/∂Wⱼ = Zⱼ₋₁ᵀΔⱼ + Δₖ₋ⱼ₊₁ᵀZₖ₋ⱼ.
X: t x n0, data
W1: n0 x n1; W2: n1 x n2
b1: 1 x n1; b2: 1 x n2; b3: 1 x n1; b4: 1 x n0

A1 = X*W1 + b1;   Z1 = f1(A1)
A2 = Z1*W2 + b2;  Z2 = f2(A2)
A3 = Z2*W2' + b3; Z3 = f3(A3)
A4 = Z3*W1' + b4; Z4 = f4(A4)
J = 1/(2*t) * ||Z4 - X||^2
