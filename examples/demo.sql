-- The demo database that scripts/demo opens: a small shop.
CREATE TABLE customer(id SERIAL PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE product(id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, price NUMERIC(8,2) NOT NULL CHECK (price >= 0));
CREATE TABLE orders(id SERIAL PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer,
                    product_id INTEGER NOT NULL REFERENCES product, quantity INTEGER NOT NULL DEFAULT 1,
                    placed TIMESTAMP NOT NULL);
CREATE INDEX orders_customer ON orders(customer_id);
INSERT INTO customer(name, city) VALUES ('Ada', 'London'), ('Brian', 'Oslo'), ('Chen', 'Taipei'), ('Dana', 'Oslo');
INSERT INTO product(name, price) VALUES ('tea', 4.50), ('coffee', 6.00), ('cake', 3.25), ('scone', 2.75);
INSERT INTO orders(customer_id, product_id, quantity, placed) VALUES
  (1, 1, 2, '2026-11-01 09:15'), (1, 3, 1, '2026-11-01 09:15'), (2, 2, 1, '2026-11-02 14:00'),
  (3, 1, 4, '2026-11-03 10:30'), (4, 4, 2, '2026-11-03 16:45'), (2, 3, 3, '2026-11-04 11:00');
CREATE VIEW revenue AS
  SELECT c.name, sum(p.price * o.quantity) AS spent
  FROM orders o JOIN customer c ON c.id = o.customer_id JOIN product p ON p.id = o.product_id
  GROUP BY c.name;
