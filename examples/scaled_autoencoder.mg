# The guide's §3.4: tied weights with scaled activations Zⱼ = αⱼ fⱼ(Aⱼ) (k = 4, α₂…α₄ free).
# The scalar parameters get δⱼ = (1/αⱼ) Zⱼ · (…) of (31).
X: t x n0, data
W1: n0 x n1; W2: n1 x n2
b1: 1 x n1; b2: 1 x n2; b3: 1 x n1; b4: 1 x n0
alpha2: scalar; alpha3: scalar; alpha4: scalar

A1 = X*W1 + b1;   Z1 = f1(A1)
A2 = Z1*W2 + b2;  Z2 = alpha2 * f2(A2)
A3 = Z2*W2' + b3; Z3 = alpha3 * f3(A3)
A4 = Z3*W1' + b4; Z4 = alpha4 * f4(A4)
J = 1/(2*t) * ||Z4 - X||^2
