import numpy as np
import matplotlib.pyplot as plt
from lstm.models import Sequential
from lstm.layers import LSTM, Dense

# 生成示例数据
def generate_data(seq_length=100, num_samples=1000):
    X = []
    y = []
    for _ in range(num_samples):
        start = np.random.rand()
        seq = np.sin(np.linspace(start, start + 2*np.pi, seq_length))
        X.append(seq[:-1])
        y.append(seq[-1])
    return np.array(X), np.array(y)

# 数据集
seq_length = 50
X, y = generate_data(seq_length)

# 调整形状以符合LSTM输入要求
X = np.expand_dims(X, axis=2)

# 构建LSTM模型
model = Sequential()
model.add(LSTM(50, activation='tanh', input_shape=(seq_length-1, 1)))
model.add(Dense(1))
model.compile(optimizer='adam', loss='mse')

# 训练模型
model.fit(X, y, epochs=20, batch_size=32)

# 测试模型
test_seq = np.sin(np.linspace(0, 2*np.pi, seq_length-1))
test_seq = np.expand_dims(test_seq, axis=0)
test_seq = np.expand_dims(test_seq, axis=2)
predicted = model.predict(test_seq)

# 显示结果
plt.plot(np.linspace(0, 2*np.pi, seq_length), np.sin(np.linspace(0, 2*np.pi, seq_length)), label='True')
plt.plot(np.linspace(0, 2*np.pi, seq_length-1), test_seq.flatten(), label='Input')
plt.scatter([2*np.pi], predicted, color='red', label='Predicted')
plt.legend()
plt.show()
