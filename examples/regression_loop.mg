# The guide's §3.1 at symbolic depth: a k-layer regression network written once, as a loop.
# matgrad derives one layer j (with ΔZⱼ = ∂J/∂Zⱼ as its input) and the loss once, and joins them
# into the recursion (23); `--depth k=4` writes the same network out instead.
X: t x n[0], data
Y: t x n[k], data
Z[0] = X
for j in 1..k:
    W[j]: n[j-1] x n[j]; b[j]: 1 x n[j]
    A[j] = Z[j-1]*W[j] + b[j]
    Z[j] = f[j](A[j])
end
J = 1/(2*t) * ||Z[k] - Y||^2
