# The guide's §1: one layer f(XW + b) trained by squared error, eq. (2).
# By derivation matgrad reproduces eq. (3)-(4).
X: t x n, data
Y: t x m, data
W: n x m
b: 1 x m

A = X*W + b            # pre-activation; "+ b" broadcasts the 1×m row over the t rows
Z = f(A)               # f is any elementwise activation (bind it, e.g. f=tanh, for code)
J = 1/2 * ||Z - Y||^2
