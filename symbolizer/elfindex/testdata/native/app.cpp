// C++: namespaces, class templates and member templates, lambdas passed to
// the standard library (whose code gets inlined, so inline chains run through
// /usr/include/c++), virtual functions, constructors (whose C1/C2 symbols are
// aliases), operators and exceptions.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>
#include <cstdio>

namespace app {
namespace geometry {

struct Vec {
	double x = 0, y = 0;
	Vec operator+(const Vec &o) const { return {x + o.x, y + o.y}; }
	Vec operator*(double k) const { return {x * k, y * k}; }
	double dot(const Vec &o) const { return x * o.x + y * o.y; }
};

class Shape {
public:
	explicit Shape(std::string name) : name_(std::move(name)) {}
	virtual ~Shape() = default;
	virtual double area() const = 0;
	const std::string &name() const { return name_; }

private:
	std::string name_;
};

class Circle : public Shape {
public:
	explicit Circle(double r) : Shape("circle"), r_(r)
	{
		if (r < 0)
			throw std::invalid_argument("negative radius");
	}
	double area() const override { return 3.14159265 * r_ * r_; }

private:
	double r_;
};

class Poly : public Shape {
public:
	explicit Poly(std::vector<Vec> pts) : Shape("poly"), pts_(std::move(pts)) {}
	double area() const override
	{
		double s = 0;
		for (size_t i = 0; i < pts_.size(); i++) {
			const Vec &a = pts_[i], &b = pts_[(i + 1) % pts_.size()];
			s += a.x * b.y - a.y * b.x;
		}
		return s < 0 ? -s / 2 : s / 2;
	}

private:
	std::vector<Vec> pts_;
};

} // namespace geometry

template <typename T>
class Worker {
public:
	explicit Worker(std::vector<T> items) : items_(std::move(items)) {}

	template <typename F>
	auto map(F f) const
	{
		std::vector<decltype(f(items_[0]))> out;
		out.reserve(items_.size());
		std::transform(items_.begin(), items_.end(), std::back_inserter(out), f);
		return out;
	}

	T total() const { return std::accumulate(items_.begin(), items_.end(), T{}); }

	void sort_desc()
	{
		std::sort(items_.begin(), items_.end(), [](const T &a, const T &b) { return b < a; });
	}

	const std::vector<T> &items() const { return items_; }

private:
	std::vector<T> items_;
};

std::map<std::string, int> histogram(const std::vector<std::string> &words)
{
	std::map<std::string, int> h;
	for (const auto &w : words)
		h[w]++;
	return h;
}

double total_area(const std::vector<std::unique_ptr<geometry::Shape>> &shapes)
{
	double sum = 0;
	std::for_each(shapes.begin(), shapes.end(), [&sum](const auto &s) {
		if (s->area() > 0)
			sum += s->area();
	});
	return sum;
}

} // namespace app

int main(int argc, char **argv)
{
	using namespace app;
	Worker<int> w({5, 3, 9, 1, argc});
	w.sort_desc();
	auto doubled = w.map([](int v) { return v * 2.5; });
	Worker<double> wd(doubled);

	std::vector<std::unique_ptr<geometry::Shape>> shapes;
	shapes.push_back(std::make_unique<geometry::Circle>(argc));
	shapes.push_back(std::make_unique<geometry::Poly>(std::vector<geometry::Vec>{{0, 0}, {4, 0}, {4, 3}}));
	try {
		shapes.push_back(std::make_unique<geometry::Circle>(-argc));
	} catch (const std::invalid_argument &e) {
		std::printf("caught %s\n", e.what());
	}
	std::vector<std::string> words;
	for (int i = 0; i < argc; i++)
		words.emplace_back(argv[i]);
	auto h = histogram(words);
	std::function<int(int)> twice = [&](int v) { return v * 2 + static_cast<int>(h.size()); };
	geometry::Vec v = geometry::Vec{1, 2} + geometry::Vec{3, 4} * 2;
	std::printf("%d %.2f %.2f %d %.1f\n", w.total(), wd.total(), total_area(shapes), twice(argc), v.dot(v));
	return 0;
}
