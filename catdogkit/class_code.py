"""The class code as text: the Keras book's first-edition notebooks 5.2 and 5.4, condensed.

Kept apart from :mod:`catdogkit.legacy` (which runs its old calls) because it is only
text to read. Introduced in lesson 00 (reviewing and running the class code).
"""

#: Where the quoted code comes from.
SOURCE = ("Deep Learning with Python, 1st edition (Keras 2.0.8): notebooks "
          "5.2-using-convnets-with-small-datasets and 5.4-visualizing-what-convnets-learn, "
          "github.com/fchollet/deep-learning-with-python-notebooks, folder first_edition/")

# The class code, quoted from notebooks 5.2 and 5.4. Condensed: the cell that copies the
# Kaggle photos into folders, the print-outs, the plots and the loops that draw grids are
# left out (the comments in parentheses say where), and calls the book spreads over several
# lines are joined; every code line is the book's, the comments are ours.
CLASS_CODE = '''\
# ---- Notebook 5.2: a small convnet trained from scratch on 2,000 photos ----
import os
from keras import layers, models, optimizers
from keras.preprocessing.image import ImageDataGenerator

base_dir = '/Users/fchollet/Downloads/cats_and_dogs_small'
train_dir = os.path.join(base_dir, 'train')            # 1,000 cats + 1,000 dogs
validation_dir = os.path.join(base_dir, 'validation')  # 500 + 500
# (left out: the cell that copies the Kaggle photos into these folders)

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu',
                        input_shape=(150, 150, 3)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(128, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(128, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Flatten())
model.add(layers.Dense(512, activation='relu'))
model.add(layers.Dense(1, activation='sigmoid'))

model.compile(loss='binary_crossentropy',
              optimizer=optimizers.RMSprop(lr=1e-4),
              metrics=['acc'])

# All images will be rescaled by 1./255
train_datagen = ImageDataGenerator(rescale=1./255)
test_datagen = ImageDataGenerator(rescale=1./255)
train_generator = train_datagen.flow_from_directory(
        train_dir, target_size=(150, 150), batch_size=20, class_mode='binary')
validation_generator = test_datagen.flow_from_directory(
        validation_dir, target_size=(150, 150), batch_size=20, class_mode='binary')

history = model.fit_generator(
      train_generator,
      steps_per_epoch=100,
      epochs=30,
      validation_data=validation_generator,
      validation_steps=50)
model.save('cats_and_dogs_small_1.h5')
# (left out: the accuracy and loss plots of history.history['acc'], ['val_acc'], ...)

# Data augmentation, previewed on one training photo
from keras.preprocessing import image
train_cats_dir = os.path.join(train_dir, 'cats')
datagen = ImageDataGenerator(
      rotation_range=40,
      width_shift_range=0.2,
      height_shift_range=0.2,
      shear_range=0.2,
      zoom_range=0.2,
      horizontal_flip=True,
      fill_mode='nearest')
fnames = [os.path.join(train_cats_dir, fname) for fname in os.listdir(train_cats_dir)]
img_path = fnames[3]
img = image.load_img(img_path, target_size=(150, 150))
x = image.img_to_array(img)
x = x.reshape((1,) + x.shape)
i = 0
for batch in datagen.flow(x, batch_size=1):
    # (left out: plt.figure(i) and plt.imshow(image.array_to_img(batch[0])))
    i += 1
    if i % 4 == 0:
        break

# The second model: the same network rebuilt with model.add(layers.Dropout(0.5)) after
# Flatten (left out), trained on augmented photos in batches of 32
train_datagen = ImageDataGenerator(
    rescale=1./255,
    rotation_range=40,
    width_shift_range=0.2,
    height_shift_range=0.2,
    shear_range=0.2,
    zoom_range=0.2,
    horizontal_flip=True,)
train_generator = train_datagen.flow_from_directory(
        train_dir, target_size=(150, 150), batch_size=32, class_mode='binary')
validation_generator = test_datagen.flow_from_directory(
        validation_dir, target_size=(150, 150), batch_size=32, class_mode='binary')
history = model.fit_generator(
      train_generator,
      steps_per_epoch=100,
      epochs=100,
      validation_data=validation_generator,
      validation_steps=50)
model.save('cats_and_dogs_small_2.h5')

# ---- Notebook 5.4: what the network learned ----
from keras.models import load_model
from keras import backend as K
import numpy as np
model = load_model('cats_and_dogs_small_2.h5')

# Feature maps: a model that returns the outputs of the first 8 layers (4 conv + 4 pooling)
img_path = '/Users/fchollet/Downloads/cats_and_dogs_small/test/cats/cat.1700.jpg'
img = image.load_img(img_path, target_size=(150, 150))
img_tensor = image.img_to_array(img)
img_tensor = np.expand_dims(img_tensor, axis=0)
img_tensor /= 255.
layer_outputs = [layer.output for layer in model.layers[:8]]
activation_model = models.Model(inputs=model.input, outputs=layer_outputs)
activations = activation_model.predict(img_tensor)
# (left out: the grids of every channel, 16 per row, each scaled by its own mean and std)

# Filter patterns: gradient ascent on the input, one filter at a time, on VGG16
from keras.applications import VGG16
model = VGG16(weights='imagenet', include_top=False)
layer_name = 'block3_conv1'
filter_index = 0
layer_output = model.get_layer(layer_name).output
loss = K.mean(layer_output[:, :, :, filter_index])
grads = K.gradients(loss, model.input)[0]
grads /= (K.sqrt(K.mean(K.square(grads))) + 1e-5)
iterate = K.function([model.input], [loss, grads])
input_img_data = np.random.random((1, 150, 150, 3)) * 20 + 128.
step = 1.
for i in range(40):
    loss_value, grads_value = iterate([input_img_data])
    input_img_data += grads_value * step

# Grad-CAM: where VGG16 sees "African elephant" (class 386) in a photo
model = VGG16(weights='imagenet')
african_elephant_output = model.output[:, 386]
last_conv_layer = model.get_layer('block5_conv3')
grads = K.gradients(african_elephant_output, last_conv_layer.output)[0]
pooled_grads = K.mean(grads, axis=(0, 1, 2))
iterate = K.function([model.input], [pooled_grads, last_conv_layer.output[0]])
# (left out: weighting the 512 maps by pooled_grads, the mean, ReLU, and the cv2 overlay)
'''
